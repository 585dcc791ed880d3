#include "textflag.h"

// dispatch: see dispatch.go. Entered by a branch from hookpatch's dispatch
// stub with R26 = the dispatch closure, g (R28) and the target's arguments
// in their registers. R16 and R17 are free at a function's entry.
TEXT ·dispatch(SB), NOSPLIT|NOFRAME, $0-0
	MOVD 8(R26), R16  // the state
	ADD $16, R16      // its first pair
loop:
	MOVD (R16), R17
	CBZ R17, fallback
	CMP g, R17
	BEQ found
	ADD $16, R16
	B loop
found:
	MOVD 8(R16), R26
	MOVD (R26), R17
	JMP (R17)
fallback:
	MOVD 8(R26), R16
	MOVD (R16), R26
	MOVD (R26), R17
	JMP (R17)

// func dispatchCode() uintptr
TEXT ·dispatchCode(SB), NOSPLIT, $0-8
	MOVD $·dispatch(SB), R0
	MOVD R0, ret+0(FP)
	RET
