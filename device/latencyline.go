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
	Name   string `json:"name"`
	NS     int64  `json:"ns"`     // median nanoseconds per call
	Traced bool   `json:"traced"` // measured with tracing on
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
