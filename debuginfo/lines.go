package debuginfo

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Lines reads an image's DWARF line table: the source line of an address
// as the compiler recorded it (that of the innermost inlined callee, as
// addr2line and llvm-symbolizer print it), where the Index keeps only
// where each function is declared. A compile unit's table is read the
// first time one of its addresses is asked for.
type Lines struct {
	d       *dwarf.Data
	units   []lineUnit // sorted by lo
	release func()
}

// lineUnit is one address range of a compile unit.
type lineUnit struct {
	lo, hi uint64
	cu     *dwarf.Entry
	name   string     // the unit's source file
	rows   *[]lineRow // shared by the unit's ranges; nil until read
}

// lineRow is one row of a line table: from addr on, file:line, up to the
// next row; end rows close a sequence.
type lineRow struct {
	addr uint64
	file string
	line int
	end  bool
}

// OpenLines maps a vmlinux or another ELF image with DWARF for its line
// table. Close releases it.
func OpenLines(path string) (*Lines, error) {
	data, release, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	l, err := newLines(data, path)
	if err != nil {
		release()
		return nil, err
	}
	l.release = release
	return l, nil
}

func newLines(data []byte, path string) (l *Lines, err error) {
	defer func() {
		// debug/dwarf has panicked on crafted input before.
		if r := recover(); r != nil {
			l, err = nil, fmt.Errorf("%s: damaged DWARF: %v", path, r)
		}
	}()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Section(".debug_line") == nil || f.Section(".debug_info") == nil {
		return nil, fmt.Errorf("%s: no DWARF line table (a vmlinux built with debug info has one): %w", path, ErrNoDWARF)
	}
	d, _, err := mappedDWARF(f, data)
	if err != nil {
		if d, err = f.DWARF(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	l = &Lines{d: d}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit || e.Tag == dwarf.TagPartialUnit {
			if ranges, err := d.Ranges(e); err == nil {
				rows := new([]lineRow)
				name, _ := e.Val(dwarf.AttrName).(string)
				for _, rg := range ranges {
					if rg[1] > rg[0] {
						l.units = append(l.units, lineUnit{lo: rg[0], hi: rg[1], cu: e, name: name, rows: rows})
					}
				}
			}
		}
		r.SkipChildren()
	}
	sort.Slice(l.units, func(i, j int) bool { return l.units[i].lo < l.units[j].lo })
	return l, nil
}

// ErrNoDWARF: the image has no DWARF line table.
var ErrNoDWARF = errors.New("no DWARF")

// Close releases the mapped image.
func (l *Lines) Close() {
	if l.release != nil {
		l.release()
		l.release = nil
	}
}

// At returns the source file and line of a link-time address: line 0 in
// the unit's own file where its line table has no row for it (inline
// assembly), as llvm-symbolizer says; ok is false outside every unit.
func (l *Lines) At(addr uint64) (file string, line int, ok bool) {
	// The last unit starting at or below addr that holds it (ranges of
	// units may nest: look back while they could).
	i := sort.Search(len(l.units), func(i int) bool { return l.units[i].lo > addr })
	for j := i - 1; j >= 0 && j >= i-8; j-- {
		u := &l.units[j]
		if addr >= u.hi {
			continue
		}
		rows := l.table(u)
		k := sort.Search(len(rows), func(k int) bool { return rows[k].addr > addr }) - 1
		if k >= 0 && !rows[k].end {
			return rows[k].file, rows[k].line, true
		}
		if u.name != "" {
			file, ok = u.name, true
		}
	}
	return file, 0, ok
}

// table reads a unit's line table once.
func (l *Lines) table(u *lineUnit) (rows []lineRow) {
	if *u.rows != nil {
		return *u.rows
	}
	defer func() {
		if r := recover(); r != nil {
			rows = []lineRow{}
		}
		*u.rows = rows
	}()
	rows = []lineRow{}
	lr, err := l.d.LineReader(u.cu)
	if err != nil || lr == nil {
		return rows
	}
	compDir, _ := u.cu.Val(dwarf.AttrCompDir).(string)
	var e dwarf.LineEntry
	for {
		if err := lr.Next(&e); err != nil {
			if err != io.EOF {
				return rows[:0]
			}
			break
		}
		row := lineRow{addr: e.Address, line: e.Line, end: e.EndSequence}
		if e.File != nil {
			row.file = unjoin(e.File.Name, compDir)
		}
		rows = append(rows, row)
	}
	// Sequences are disjoint; where one ends at the address the next
	// starts, the start wins.
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].addr != rows[j].addr {
			return rows[i].addr < rows[j].addr
		}
		return rows[i].end && !rows[j].end
	})
	return rows
}

// unjoin undoes debug/dwarf's joining of the compilation directory onto
// a file name that was already absolute (DWARF 5 units of assembly files
// name their file 0 by its absolute path): /b/obj + /b/src/x.S became
// /b/obj/b/src/x.S. It takes the name back when what follows the
// compilation directory starts with that directory's parent.
func unjoin(name, compDir string) string {
	parent := path.Dir(compDir)
	if compDir == "" || parent == "/" || !strings.HasPrefix(name, compDir+"/") {
		return name
	}
	if rest := name[len(compDir):]; strings.HasPrefix(rest, parent+"/") {
		return rest
	}
	return name
}
