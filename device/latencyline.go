package device

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Latency is the median time of one syscall over several rounds, and the
// JSON line "kcovdf latency --json" prints for it.
type Latency struct {
	Name string `json:"name"`
	NS   int64  `json:"ns"` // median nanoseconds per call
	// Mode is what collected meanwhile: "none", "kcov" (classic kcov's
	// PCs), "dataflow", "both" or "follow" (kcov dataflow in follow
	// mode, alone); empty in lines of older versions,
	// which Traced alone describes.
	Mode   string `json:"mode,omitempty"`
	Traced bool   `json:"traced"` // kcov dataflow was on (follow mode too)
	// Per call, averaged over the rounds: kcov dataflow's words (without
	// area[0]; in follow mode the chunks' record words, without their
	// headers) and records, classic kcov's PCs.
	Words   float64 `json:"words,omitempty"`
	Records float64 `json:"records,omitempty"`
	PCs     float64 `json:"pcs,omitempty"`
}

// Collector is what collected while the row was measured: Mode, or for
// older lines "dataflow" or "none" from Traced.
func (l Latency) Collector() string {
	switch {
	case l.Mode != "":
		return l.Mode
	case l.Traced:
		return "dataflow"
	}
	return "none"
}

// ParseLatency reads Latency JSON lines. Lines that do not start with
// "{" are skipped: the output of a guest mixes them with console noise.
func ParseLatency(r io.Reader) ([]Latency, error) {
	var rows []Latency
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var row Latency
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			return nil, fmt.Errorf("latency line %d %q: %w", n, line, err)
		}
		if row.Name == "" || row.NS <= 0 {
			return nil, fmt.Errorf("latency line %d %q: want a name and ns > 0", n, line)
		}
		switch row.Mode {
		case "", "none", "kcov", "dataflow", "both", "follow":
		default:
			return nil, fmt.Errorf("latency line %d %q: unknown mode %q (none, kcov, dataflow, both or follow)", n, line, row.Mode)
		}
		if row.Words < 0 || row.Records < 0 || row.PCs < 0 {
			return nil, fmt.Errorf("latency line %d %q: a negative count", n, line)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("no latency lines")
	}
	return rows, nil
}
