//go:build amd64 || arm64

package mock

// dispatch is the assembly dispatcher (dispatch_*.s). It is never called
// from Go: only its address is used, taken by dispatchCode.
func dispatch()

// dispatchCode is dispatch's code address: its ABI0 symbol itself, not
// the ABIInternal wrapper a Go reference to dispatch would give.
func dispatchCode() uintptr
