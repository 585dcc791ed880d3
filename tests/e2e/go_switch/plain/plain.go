// Package plain has no hookpatch.toml: hookpatch exec runs it as it is.
package plain

func Double(x int) int { return 2 * x }
