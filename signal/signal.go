package signal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Signal is a set of features, kept sorted. The zero value is empty.
// Signals are values: Merge and Diff return new ones and never change
// their operands.
type Signal struct {
	feats []Feature // sorted, unique
}

// FromFeatures builds a signal of fs (in any order, duplicates allowed).
func FromFeatures(fs ...Feature) Signal {
	s := slices.Clone(fs)
	slices.Sort(s)
	return Signal{slices.Compact(s)}
}

// Len is the number of features.
func (s Signal) Len() int { return len(s.feats) }

// Empty tells whether s has no feature.
func (s Signal) Empty() bool { return len(s.feats) == 0 }

// Features returns the features in order. The slice is s's own: do not
// change it.
func (s Signal) Features() []Feature { return s.feats }

// Has tells whether f is in s.
func (s Signal) Has(f Feature) bool {
	_, ok := slices.BinarySearch(s.feats, f)
	return ok
}

// Merge returns the union of s and t.
func (s Signal) Merge(t Signal) Signal {
	switch {
	case len(t.feats) == 0:
		return s
	case len(s.feats) == 0:
		return t
	}
	a, b := s.feats, t.feats
	out := make([]Feature, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] < b[0]:
			out = append(out, a[0])
			a = a[1:]
		case a[0] > b[0]:
			out = append(out, b[0])
			b = b[1:]
		default:
			out = append(out, a[0])
			a, b = a[1:], b[1:]
		}
	}
	out = append(append(out, a...), b...)
	return Signal{out}
}

// Diff returns the features of t that s lacks: what t would add to s.
// As in syzkaller's pkg/signal, s is the corpus and t the new input.
func (s Signal) Diff(t Signal) Signal {
	a, b := s.feats, t.feats
	var out []Feature
	for len(b) > 0 {
		switch {
		case len(a) == 0 || b[0] < a[0]:
			out = append(out, b[0])
			b = b[1:]
		case b[0] > a[0]:
			a = a[1:]
		default:
			a, b = a[1:], b[1:]
		}
	}
	return Signal{out}
}

// Intersect returns the features in both s and t.
func (s Signal) Intersect(t Signal) Signal {
	a, b := s.feats, t.feats
	var out []Feature
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] < b[0]:
			a = a[1:]
		case a[0] > b[0]:
			b = b[1:]
		default:
			out = append(out, a[0])
			a, b = a[1:], b[1:]
		}
	}
	return Signal{out}
}

// Equal tells whether s and t hold the same features.
func (s Signal) Equal(t Signal) bool { return slices.Equal(s.feats, t.feats) }

// Minimize chooses inputs of a corpus whose signals together hold every
// feature of the whole corpus, and returns their indexes in order.
// Larger signals are tried first (ties by index), and an input is kept
// only when it adds a feature the kept ones lack, so the result is
// deterministic and no larger than the corpus.
func Minimize(corpus []Signal) []int {
	order := make([]int, len(corpus))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return corpus[j].Len() - corpus[i].Len() })
	var have Signal
	var kept []int
	for _, i := range order {
		if add := have.Diff(corpus[i]); add.Len() > 0 {
			have = have.Merge(add)
			kept = append(kept, i)
		}
	}
	slices.Sort(kept)
	return kept
}

// The binary form (docs/signal.md): the magic, a version byte, the count
// as a uvarint, then each feature as the uvarint of its difference from
// the one before (the first from 0).
const (
	binaryMagic   = "KCDFSIG"
	binaryVersion = 1
)

// MarshalBinary encodes s in the binary form.
func (s Signal) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, len(binaryMagic)+1+binary.MaxVarintLen64+3*len(s.feats))
	b = append(b, binaryMagic...)
	b = append(b, binaryVersion)
	b = binary.AppendUvarint(b, uint64(len(s.feats)))
	var prev Feature
	for _, f := range s.feats {
		b = binary.AppendUvarint(b, uint64(f-prev))
		prev = f
	}
	return b, nil
}

// UnmarshalBinary decodes the binary form.
func (s *Signal) UnmarshalBinary(b []byte) error {
	if len(b) < len(binaryMagic)+1 || string(b[:len(binaryMagic)]) != binaryMagic {
		return errors.New("not a kcovdf signal: no " + binaryMagic + " magic")
	}
	if v := b[len(binaryMagic)]; v != binaryVersion {
		return fmt.Errorf("signal version %d; this kcovdf reads version %d", v, binaryVersion)
	}
	b = b[len(binaryMagic)+1:]
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return errors.New("signal: bad feature count")
	}
	b = b[k:]
	if n > uint64(len(b)) { // every feature takes a byte at least
		return fmt.Errorf("signal: %d features announced in %d bytes", n, len(b))
	}
	fs := make([]Feature, 0, n)
	var prev Feature
	for i := uint64(0); i < n; i++ {
		d, k := binary.Uvarint(b)
		if k <= 0 {
			return fmt.Errorf("signal: feature %d of %d: bad varint", i, n)
		}
		b = b[k:]
		if i > 0 && d == 0 {
			return fmt.Errorf("signal: feature %d repeats the one before", i)
		}
		f := prev + Feature(d)
		if f < prev {
			return fmt.Errorf("signal: feature %d out of range", i)
		}
		fs = append(fs, f)
		prev = f
	}
	if len(b) > 0 {
		return fmt.Errorf("signal: %d bytes after the last feature", len(b))
	}
	s.feats = fs
	return nil
}

// jsonSignal is the JSON form: features as hex strings, in order.
type jsonSignal struct {
	Format   string   `json:"format"`
	Version  int      `json:"version"`
	Features []string `json:"features"`
}

const jsonFormat = "kcovdf-signal"

// MarshalJSON encodes s in the JSON form.
func (s Signal) MarshalJSON() ([]byte, error) {
	j := jsonSignal{Format: jsonFormat, Version: binaryVersion, Features: make([]string, len(s.feats))}
	for i, f := range s.feats {
		j.Features[i] = "0x" + strconv.FormatUint(uint64(f), 16)
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the JSON form.
func (s *Signal) UnmarshalJSON(b []byte) error {
	var j jsonSignal
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("signal: %w", err)
	}
	if j.Format != jsonFormat {
		return fmt.Errorf("signal: format %q, want %q", j.Format, jsonFormat)
	}
	if j.Version != binaryVersion {
		return fmt.Errorf("signal version %d; this kcovdf reads version %d", j.Version, binaryVersion)
	}
	fs := make([]Feature, len(j.Features))
	for i, t := range j.Features {
		v, err := strconv.ParseUint(t, 0, 64)
		if err != nil {
			return fmt.Errorf("signal: feature %d: %q is no number", i, t)
		}
		fs[i] = Feature(v)
	}
	*s = FromFeatures(fs...)
	return nil
}

// Parse reads a signal in either form, binary or JSON.
func Parse(b []byte) (Signal, error) {
	var s Signal
	var err error
	if len(b) > 0 && (b[0] == '{' || b[0] == ' ' || b[0] == '\n' || b[0] == '\t' || b[0] == '\r') {
		err = s.UnmarshalJSON(b)
	} else {
		err = s.UnmarshalBinary(b)
	}
	return s, err
}
