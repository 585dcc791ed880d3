#include "textflag.h"

// dispatch: see dispatch.go. Entered by a jump from hookpatch's dispatch
// stub with DX = the dispatch closure, R14 = g and the target's arguments
// in their registers. R12 and R13 are free at a Go function's entry.
TEXT ·dispatch(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ 8(DX), R12   // the state
	ADDQ $16, R12     // its first pair
loop:
	MOVQ (R12), R13
	TESTQ R13, R13
	JZ fallback
	CMPQ R13, R14
	JEQ found
	ADDQ $16, R12
	JMP loop
found:
	MOVQ 8(R12), DX
	MOVQ (DX), R12
	JMP R12
fallback:
	MOVQ 8(DX), R12
	MOVQ (R12), DX
	MOVQ (DX), R12
	JMP R12

// func dispatchCode() uintptr
TEXT ·dispatchCode(SB), NOSPLIT, $0-8
	LEAQ ·dispatch(SB), AX
	MOVQ AX, ret+0(FP)
	RET
