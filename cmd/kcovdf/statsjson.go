package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/kcovdf/kcovdf/abi"
)

// statsJSON is "kcovdf stats --json": the table's rows as one object.
type statsJSON struct {
	File          string         `json:"file"`
	Format        string         `json:"format"`
	Kernel        string         `json:"kernel,omitempty"`
	Command       []string       `json:"command,omitempty"`
	Raw           bool           `json:"raw"` // a raw area dump: no metadata
	FillWords     uint64         `json:"fill_words"`
	BufferWords   int            `json:"buffer_words,omitempty"` // 0: unknown
	Dropped       *uint64        `json:"dropped,omitempty"`      // the kernel's drop counter
	Records       int            `json:"records"`
	ByKind        map[string]int `json:"by_kind"`
	Functions     int            `json:"functions"`
	Unattributed  int            `json:"unattributed_words"`
	LostRecords   int            `json:"lost_records"`
	Exact         bool           `json:"exact"`
	Anomalies     map[string]int `json:"anomalies"`
	Top           []fnJSON       `json:"top"`
	MoreFunctions int            `json:"more_functions"` // left out of top
	// Kcov is classic kcov's coverage of the same run, when recorded.
	Kcov *kcovJSON `json:"kcov,omitempty"`
}

type fnJSON struct {
	PC       string `json:"pc"`
	Function string `json:"function,omitempty"`
	Entry    int    `json:"entry"`
	Return   int    `json:"return"`
	Words    int    `json:"words"`
}

func writeStatsJSON(w io.Writer, file string, src *input, sum *abi.Summary, stats []*fnStat, ks *kcovStats, top int) error {
	m := src.trace.Meta
	j := statsJSON{
		File: file, Format: sum.Format.String(), Kernel: m.KernelRelease, Command: m.Command, Raw: src.trace.Raw,
		FillWords: sum.Count, BufferWords: sum.BufferWords, Dropped: m.Dropped,
		Records:   sum.Records,
		ByKind:    map[string]int{},
		Functions: len(stats), Unattributed: sum.Unattributed, LostRecords: sum.LostRecords,
		Exact: sum.Exact(), Anomalies: map[string]int{}, Top: []fnJSON{},
	}
	for _, k := range []abi.Kind{abi.KindEntry, abi.KindReturn, abi.KindCompare} {
		j.ByKind[k.String()] = sum.ByKind[k]
	}
	for k, n := range sum.AnomalyCounts {
		if n > 0 {
			j.Anomalies[abi.AnomalyKind(k).String()] = n
		}
	}
	for i, s := range stats {
		if i == top {
			j.MoreFunctions = len(stats) - top
			break
		}
		j.Top = append(j.Top, fnJSON{fmt.Sprintf("%#x", s.pc), src.names.name(s.pc), s.entry, s.ret, s.words})
	}
	if ks != nil {
		j.Kcov = ks.json(top)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}
