package mock

// Reading hookpatch's switch table (format version 1, little-endian;
// hookpatch writes it in rewriter/switch.c):
//
//	off 0   magic "HPSWTAB1"     off 8  uint32 version = 1
//	off 12  uint32 count         off 16 int64 slots_rel (slot 0 - table)
//	off 24  uint32 entry_size    off 28 uint32 reserved
//	off 32  entries, sorted by target_rel, each:
//	        int64 target_rel, int64 tramp_rel, uint32 abi, uint32 reserved
//
// Every address is relative to the table, so PIE outputs need no
// relocation. The table and the slots live outside Go memory (hookpatch's
// own regions): they are read through unsafe and the slots written with
// sync/atomic, which the race runtime allows on any address.

import (
	"errors"
	"sync"
	"unsafe"
)

const (
	tableMagic   = "HPSWTAB1"
	tableVersion = 1
	headerSize   = 32
	minEntrySize = 24
	abiGo        = 1
)

// switchTable is the table as found at run time: base is its address.
type switchTable struct {
	base      uintptr
	count     int
	slots     uintptr
	entrySize uintptr
}

// tableEntry is one switchable target: the address of its slot, of its
// trampoline (the original, callable) and its ABI.
type tableEntry struct {
	slot  uintptr
	tramp uintptr
	abi   uint32
}

var (
	tableOnce sync.Once
	table     *switchTable
	tableErr  error
)

// errNotPatched: the table marker returned 0, so hookpatch did not patch
// this binary.
var errNotPatched = errors.New("not patched")

// loadTable finds and checks the table once per process.
func loadTable() (*switchTable, error) {
	tableOnce.Do(func() { table, tableErr = readTable(hookpatchSwitchTable()) })
	return table, tableErr
}

func readTable(base uintptr) (*switchTable, error) {
	if base == 0 {
		return nil, errNotPatched
	}
	if string(bytesAt(base, 8)) != tableMagic {
		return nil, errors.New("the switch table has a bad magic (not written by a compatible hookpatch)")
	}
	if v := u32At(base + 8); v != tableVersion {
		return nil, errors.New("the switch table has an unknown version (hookpatch and hookpatch.dev/mock do not match)")
	}
	t := &switchTable{
		base:      base,
		count:     int(u32At(base + 12)),
		slots:     base + uintptr(i64At(base+16)),
		entrySize: uintptr(u32At(base + 24)),
	}
	if t.entrySize < minEntrySize {
		return nil, errors.New("the switch table's entries are too small")
	}
	return t, nil
}

// find returns the entry of the target whose entry address is pc.
func (t *switchTable) find(pc uintptr) (tableEntry, bool) {
	want := int64(pc - t.base)
	lo, hi := 0, t.count
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if i64At(t.entryAt(mid)) < want {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == t.count || i64At(t.entryAt(lo)) != want {
		return tableEntry{}, false
	}
	e := t.entryAt(lo)
	return tableEntry{
		slot:  t.slots + 8*uintptr(lo),
		tramp: t.base + uintptr(i64At(e+8)),
		abi:   u32At(e + 16),
	}, true
}

func (t *switchTable) entryAt(i int) uintptr {
	return t.base + headerSize + uintptr(i)*t.entrySize
}

// The table is not Go memory: these read it byte by byte, little-endian,
// whatever the host's order and the fields' alignment.
func bytesAt(p uintptr, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = *(*byte)(ptrAt(p + uintptr(i)))
	}
	return b
}

func u32At(p uintptr) uint32 {
	b := bytesAt(p, 4)
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func i64At(p uintptr) int64 {
	b := bytesAt(p, 8)
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return int64(v)
}

// ptrAt turns an address outside Go memory into a pointer. Go's rule
// against uintptr -> unsafe.Pointer is about objects the GC can move or
// free; hookpatch's regions are neither.
//
//go:nocheckptr
func ptrAt(p uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&p))
}
