package main

import (
	"fmt"
	"os"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/model"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newSimCommand) }

func newSimCommand() *cobra.Command {
	cfg := model.DefaultSimConfig()
	var out, layoutOut, rawOut, outFormat string
	var follow bool
	var chunkWords int
	cmd := &cobra.Command{
		Use:   "sim [flags]",
		Short: "Generate a realistic trace from the executable kernel model",
		Long: `sim runs a synthetic call graph (nested calls, struct arguments, faults,
ERR_PTRs, interrupts, a full buffer) through the model of our kernel's
record writer, and writes the trace, its layout and optionally a raw dump.`,
		Example: `  kcovdf sim -o sim.kdf --layout-out sim.jsonl
  kcovdf decode --layout sim.jsonl sim.kdf`,
		Args: argsExactly(),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := abi.ParseFormat(outFormat)
			if err != nil || f == abi.FormatAuto {
				return fmt.Errorf("sim: --out-format %q: want v1, v2 or v3", outFormat)
			}
			if follow {
				if f != abi.FormatV1 {
					return fmt.Errorf("sim: --follow writes v1 chunks: drop --out-format %q", outFormat)
				}
				return simFollow(cmd, model.FollowSimConfig{SimConfig: cfg, ChunkWords: chunkWords}, out, layoutOut, rawOut)
			}
			res, err := model.Simulate(cfg)
			if err != nil {
				return err
			}
			area := res.Area
			if f != abi.FormatV1 {
				area = reencode(res, f)
			}
			dropped := res.Dropped
			tr := &abi.Trace{Words: area, Meta: abi.Meta{
				Format: f, KernelRelease: "model", KASLROffset: abi.KnownKASLROffset(0),
				BufferWords: len(area), Fill: area[0], Overflowed: dropped > 0, Dropped: &dropped,
				Command: []string{"kcovdf", "sim", fmt.Sprintf("--seed=%d", cfg.Seed)}, Captured: time.Now().UTC(), Source: "model",
			}}
			if err := writeSimFiles(tr, res.Layout, out, layoutOut, rawOut); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sim: %d calls, %d records in %d of %d words, %d dropped (%s)\n", res.Calls, len(res.Truth), area[0], len(area), res.Dropped, f)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed (same seed, same trace)")
	cfg.Words = defaultWords
	fl.IntVar(&cfg.Words, "words", cfg.Words, wordsUsage)
	fl.IntVar(&cfg.Functions, "functions", cfg.Functions, "synthetic functions")
	fl.IntVar(&cfg.Calls, "calls", 0, "top-level calls (0: until the buffer overflows)")
	fl.IntVar(&cfg.MaxDepth, "depth", cfg.MaxDepth, "maximum call nesting")
	fl.Float64Var(&cfg.Lookalike, "lookalike", cfg.Lookalike, "share of values that imitate record words")
	fl.Float64Var(&cfg.Fault, "fault", cfg.Fault, "share of struct pointers that fault")
	fl.Float64Var(&cfg.ErrPtr, "errptr", cfg.ErrPtr, "share of struct pointers that are ERR_PTRs")
	fl.Float64Var(&cfg.Null, "null", cfg.Null, "share of NULL struct pointers")
	fl.Float64Var(&cfg.IRQ, "irq", cfg.IRQ, "share of calls interrupted (interrupts are never recorded)")
	fl.StringVarP(&out, "output", "o", "sim.kdf", "trace file to write (empty: none)")
	fl.StringVar(&layoutOut, "layout-out", "", "write the layout of the synthetic functions here")
	fl.StringVar(&rawOut, "raw-out", "", "also write a raw dump of the area here")
	fl.BoolVar(&follow, "follow", false, "trace a process tree in follow mode: a shell, a child that execs, its two threads, each into chunks of its own (--calls: per task)")
	fl.IntVar(&chunkWords, "chunk-words", abi.FollowDefaultChunk, "with --follow: words per chunk, a power of two from 64")
	fl.StringVar(&outFormat, "out-format", "v1", "record format to write: v1 (our kernel), v2 or v3")
	return cmd
}

// simFollow writes the trace of model.SimulateFollow.
func simFollow(cmd *cobra.Command, cfg model.FollowSimConfig, out, layoutOut, rawOut string) error {
	res, err := model.SimulateFollow(cfg)
	if err != nil {
		return err
	}
	dropped := res.Dropped
	tr := &abi.Trace{Words: res.Area, Meta: abi.Meta{
		Format: abi.FormatV1, KernelRelease: "model", KASLROffset: abi.KnownKASLROffset(0),
		BufferWords: len(res.Area), Fill: res.Area[0], Overflowed: dropped > 0, Dropped: &dropped,
		Command: []string{"kcovdf", "sim", "--follow", fmt.Sprintf("--seed=%d", cfg.Seed)}, Captured: time.Now().UTC(), Source: "model",
		Follow: &abi.FollowMeta{ChunkWords: res.ChunkWords},
	}}
	if err := writeSimFiles(tr, res.Layout, out, layoutOut, rawOut); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "sim: %d tasks, %d calls, %d chunks of %d words (%d of %d words), %d dropped (follow mode)\n",
		len(res.Truth), res.Calls, res.Area[0]/uint64(res.ChunkWords), res.ChunkWords, res.Area[0], len(res.Area), res.Dropped)
	return nil
}

// writeSimFiles writes what sim was asked for: the trace, a raw dump of
// its words, the layout.
func writeSimFiles(tr *abi.Trace, layout *abi.Layout, out, layoutOut, rawOut string) error {
	if out != "" {
		if err := abi.SaveTrace(out, tr); err != nil {
			return err
		}
	}
	if rawOut != "" {
		if err := os.WriteFile(rawOut, wordsToBytes(tr.Words), 0o644); err != nil {
			return err
		}
	}
	if layoutOut == "" {
		return nil
	}
	lf, err := os.Create(layoutOut)
	if err != nil {
		return err
	}
	if err := layout.Write(lf); err != nil {
		lf.Close()
		return err
	}
	return lf.Close()
}

// reencode rewrites the model's v1 records in another layout; v2 and v3
// records are as long as v1's, so the area keeps its size.
func reencode(res *model.SimResult, f abi.Format) []uint64 {
	out := make([]uint64, 1, len(res.Area))
	for _, s := range res.Truth {
		r := abi.V1RecordAt(res.Area, s.Offset, s.Words)
		out = abi.Encode(f, out, &r)
	}
	area := make([]uint64, len(res.Area))
	copy(area, out)
	area[0] = uint64(len(out) - 1)
	return area
}

func wordsToBytes(w []uint64) []byte {
	b := make([]byte, 8*len(w))
	for i, v := range w {
		for j := range 8 {
			b[8*i+j] = byte(v >> (8 * j))
		}
	}
	return b
}
