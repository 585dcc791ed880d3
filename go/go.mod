module hookpatch.dev

go 1.19
