module example.com/sw

go 1.19

require hookpatch.dev v0.0.0

// go_switch.sh points this at the source tree's go/ (go mod edit -replace).
replace hookpatch.dev => ../../../go
