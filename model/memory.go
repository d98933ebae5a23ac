package model

import "encoding/binary"

// PageSize is the simulated page size.
const PageSize = 4096

// Memory is a sparse kernel address space: reads of unmapped pages fault,
// as copy_from_kernel_nofault reports them.
type Memory struct {
	pages map[uint64]*[PageSize]byte
}

// NewMemory returns an address space with nothing mapped.
func NewMemory() *Memory { return &Memory{pages: map[uint64]*[PageSize]byte{}} }

// Map maps the pages covering [addr, addr+n) (zero-filled where new).
func (m *Memory) Map(addr, n uint64) {
	for p := addr &^ (PageSize - 1); p < addr+n; p += PageSize {
		if m.pages[p] == nil {
			m.pages[p] = new([PageSize]byte)
		}
	}
}

// Unmap removes the pages covering [addr, addr+n).
func (m *Memory) Unmap(addr, n uint64) {
	for p := addr &^ (PageSize - 1); p < addr+n; p += PageSize {
		delete(m.pages, p)
	}
}

// Write stores b at addr, mapping what is needed.
func (m *Memory) Write(addr uint64, b []byte) {
	m.Map(addr, uint64(len(b)))
	for i, c := range b {
		a := addr + uint64(i)
		m.pages[a&^(PageSize-1)][a&(PageSize-1)] = c
	}
}

// WriteU64 stores v little endian at addr.
func (m *Memory) WriteU64(addr, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	m.Write(addr, b[:])
}

// Read reads n ≤ 8 bytes at addr, zero-extended little endian; ok is false
// when any byte is unmapped (or the range wraps the address space).
func (m *Memory) Read(addr uint64, n int) (v uint64, ok bool) {
	if n <= 0 {
		return 0, true
	}
	if addr+uint64(n) < addr {
		return 0, false
	}
	page, off := addr&^(PageSize-1), int(addr&(PageSize-1))
	pg := m.pages[page]
	if pg == nil {
		return 0, false
	}
	if off+n <= PageSize {
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(pg[off+i])
		}
		return v, true
	}
	// The read straddles two pages.
	for i := n - 1; i >= 0; i-- {
		a := addr + uint64(i)
		p := m.pages[a&^(PageSize-1)]
		if p == nil {
			return 0, false
		}
		v = v<<8 | uint64(p[a&(PageSize-1)])
	}
	return v, true
}
