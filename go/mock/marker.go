package mock

// The two markers hookpatch finds by name in the pclntab (test binaries
// have no .symtab) and hooks internally, with no rule: the table marker's
// body becomes "return the switch table's address", the g marker's
// "return the current goroutine's g". In a binary hookpatch did not patch
// they return the zero values below, which is how the helpers tell that
// the binary was not run under hookpatch.
//
// Each body is a load of a package-level variable and a return (at least
// 8 bytes of code on amd64 and arm64), so the jump hookpatch writes at the
// entry always fits. noinline keeps a real call to each.

var (
	unpatchedTable uintptr
	unpatchedG     uintptr
)

//go:noinline
func hookpatchSwitchTable() uintptr { return unpatchedTable }

//go:noinline
func hookpatchCurG() uintptr { return unpatchedG }
