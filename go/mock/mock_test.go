package mock

// These run without hookpatch: the table reader on a table built here, and
// the messages a test gets when the binary was not patched. Switching
// itself needs a patched binary: tests/e2e/go_switch.sh.

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// fakeTable lays out a version-1 table in words (8-aligned), entries
// given as (target_rel, tramp_rel, abi), the slots right after it.
func fakeTable(magic string, version uint32, entries [][3]int64) []uint64 {
	n := len(entries)
	words := make([]uint64, 4+3*n+n)
	b := (*[1 << 16]byte)(unsafe.Pointer(&words[0]))[: len(words)*8 : len(words)*8]
	copy(b, magic)
	binary.LittleEndian.PutUint32(b[8:], version)
	binary.LittleEndian.PutUint32(b[12:], uint32(n))
	binary.LittleEndian.PutUint64(b[16:], uint64(32+24*n))
	binary.LittleEndian.PutUint32(b[24:], 24)
	for i, e := range entries {
		o := 32 + 24*i
		binary.LittleEndian.PutUint64(b[o:], uint64(e[0]))
		binary.LittleEndian.PutUint64(b[o+8:], uint64(e[1]))
		binary.LittleEndian.PutUint32(b[o+16:], uint32(e[2]))
	}
	return words
}

func TestTableFind(t *testing.T) {
	words := fakeTable(tableMagic, 1, [][3]int64{{-4096, 512, 1}, {-64, 1024, 0}, {8192, 2048, 1}})
	base := uintptr(unsafe.Pointer(&words[0]))
	tbl, err := readTable(base)
	if err != nil {
		t.Fatal(err)
	}
	slots := base + 32 + 3*24
	for i, c := range []struct {
		rel   int64
		tramp int64
		abi   uint32
	}{{-4096, 512, 1}, {-64, 1024, 0}, {8192, 2048, 1}} {
		e, ok := tbl.find(base + uintptr(c.rel))
		want := tableEntry{slot: slots + 8*uintptr(i), tramp: base + uintptr(c.tramp), abi: c.abi}
		if !ok || e != want {
			t.Errorf("entry %d: got %+v %v, want %+v", i, e, ok, want)
		}
	}
	for _, miss := range []int64{-4097, -4095, 0, 8191, 8193} {
		if e, ok := tbl.find(base + uintptr(miss)); ok {
			t.Errorf("target_rel %d: found %+v, want none", miss, e)
		}
	}
}

func TestTableEmpty(t *testing.T) {
	words := fakeTable(tableMagic, 1, nil)
	tbl, err := readTable(uintptr(unsafe.Pointer(&words[0])))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := tbl.find(uintptr(unsafe.Pointer(&words[0]))); ok {
		t.Errorf("empty table: found %+v", e)
	}
}

func TestTableRejected(t *testing.T) {
	bad := fakeTable("HPSWTAB0", 1, nil)
	if _, err := readTable(uintptr(unsafe.Pointer(&bad[0]))); err == nil || !strings.Contains(err.Error(), "bad magic") {
		t.Errorf("bad magic: got %v", err)
	}
	v2 := fakeTable(tableMagic, 2, nil)
	if _, err := readTable(uintptr(unsafe.Pointer(&v2[0]))); err == nil || !strings.Contains(err.Error(), "unknown version") {
		t.Errorf("version 2: got %v", err)
	}
	if _, err := readTable(0); err != errNotPatched {
		t.Errorf("no table: got %v", err)
	}
}

// fatalTB records the first Fatal and stops the helper with a panic that
// the test recovers (testing.T's Fatal would end the test).
type fatalTB struct {
	testing.TB
	msg string
}

type stopped struct{}

func (f *fatalTB) Helper()        {}
func (f *fatalTB) Name() string   { return "TestFake" }
func (f *fatalTB) Cleanup(func()) { panic("Cleanup after a failure") }
func (f *fatalTB) Fatal(args ...interface{}) {
	f.msg = strings.TrimSuffix(fmt.Sprintln(args...), "\n")
	panic(stopped{})
}
func (f *fatalTB) Fatalf(format string, a ...interface{}) {
	f.msg = fmt.Sprintf(format, a...)
	panic(stopped{})
}

func fatalOf(do func(tb testing.TB)) (msg string) {
	tb := &fatalTB{}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopped); !ok {
				panic(r)
			}
		}
		msg = tb.msg
	}()
	do(tb)
	return "(no failure)"
}

func TestUnpatchedBinary(t *testing.T) {
	if hookpatchSwitchTable() != 0 {
		t.Skip("this binary was patched by hookpatch")
	}
	want := `mock.Patch(time.Now): this test binary was not patched by hookpatch; ` +
		`run the tests under it, with the switch rules in the package's hookpatch.toml: go test -gcflags=all=-l -exec "hookpatch exec --" ./...`
	if got := fatalOf(func(tb testing.TB) { Patch(tb, time.Now, time.Now) }); got != want {
		t.Errorf("Patch:\n got %s\nwant %s", got, want)
	}
	want = strings.Replace(want, "mock.Patch(", "mock.PatchGoroutine(", 1)
	if got := fatalOf(func(tb testing.TB) { PatchGoroutine(tb, time.Now, time.Now) }); got != want {
		t.Errorf("PatchGoroutine:\n got %s\nwant %s", got, want)
	}
	want = strings.Replace(want, "mock.PatchGoroutine(", "mock.Original(", 1)
	func() {
		defer func() {
			if r := recover(); r == nil || r.(error).Error() != want {
				t.Errorf("Original:\n got %v\nwant %s", r, want)
			}
		}()
		Original(time.Now)
	}()
}

type meter struct{ n int }

type Value struct{ n int }

func (v Value) Get() int { return v.n }

type Getter interface{ Get() int }

type Pointer struct{ n int }

func (p *Pointer) Get() int { return p.n }

// Method expressions whose code is a compiler wrapper are refused before
// anything else; the method's own expression is not.
func TestMethodWrappers(t *testing.T) {
	want := "mock.Patch(hookpatch.dev/mock.(*Value).Get): Get has a value receiver, so this is a wrapper the compiler " +
		"made and direct calls do not go through it; switch Value.Get instead"
	if got := fatalOf(func(tb testing.TB) { Patch(tb, (*Value).Get, (*Value).Get) }); got != want {
		t.Errorf("(*Value).Get:\n got %s\nwant %s", got, want)
	}
	want = "mock.Patch(hookpatch.dev/mock.Getter.Get): an interface's method expression calls whatever method its " +
		"receiver has; switch the concrete type's method instead: (*T).Get or T.Get"
	if got := fatalOf(func(tb testing.TB) { Patch(tb, Getter.Get, Getter.Get) }); got != want {
		t.Errorf("Getter.Get:\n got %s\nwant %s", got, want)
	}
	for _, f := range []interface{}{Value.Get, (*Pointer).Get, (*meter).tick, strings.Repeat} {
		v := reflect.ValueOf(f)
		if err := methodWrapper("Patch", funcName(codeOf(v)), v.Type()); err != nil {
			t.Errorf("%s refused: %v", funcName(codeOf(v)), err)
		}
	}
}

func (m *meter) tick() int { m.n++; return m.n }

func TestMessages(t *testing.T) {
	want := "mock.Patch(hookpatch.dev/mock.(*meter).tick): the target is not switchable in this test binary; " +
		"add this rule to the package's hookpatch.toml:\n\n[[hook]]\ntarget = \"hookpatch.dev/mock.(*meter).tick\"\naction = \"switch\"\n"
	if got := notSwitchable("Patch", funcName(codeOf(reflect.ValueOf((*meter).tick)))).Error(); got != want {
		t.Errorf("not switchable:\n got %q\nwant %q", got, want)
	}
	m := &meter{}
	got := notSwitchable("Patch", funcName(codeOf(reflect.ValueOf(m.tick)))).Error()
	if !strings.HasPrefix(got, "mock.Patch(hookpatch.dev/mock.(*meter).tick-fm): the target is a method value") {
		t.Errorf("method value: got %q", got)
	}
	if got := fatalOf(func(tb testing.TB) { Patch(tb, (func())(nil), func() {}) }); got != "mock.Patch: the target is a nil function" {
		t.Errorf("nil target: got %q", got)
	}
}
