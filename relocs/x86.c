/* x86: decode, scan and relocate x86-64 instructions with Zydis.
 *
 * Quirks of moving x86-64 code, and what this file does about each:
 *
 * - Position dependence comes from exactly two encodings: a relative
 *   immediate (jmp/jcc/call/loop/jrcxz/xbegin) and a RIP-relative ModRM
 *   operand. Zydis flags both with ZYDIS_ATTRIB_IS_RELATIVE; anything carrying
 *   that flag which no handler below understands is refused, never copied.
 * - RIP-relative operands are relocated by rewriting the disp32 field in
 *   place. In 64-bit mode a RIP-relative displacement is always 32 bits (also
 *   under VEX/EVEX, where disp8*N compression never applies to mod=00 rm=101),
 *   so the length cannot change and every other byte - prefixes, VEX/EVEX
 *   payload, immediates after the displacement - stays exactly as the
 *   compiler wrote it. Re-encoding through ZydisEncoder would also work for
 *   most instructions, but it may pick a different (equivalent) encoding and
 *   rejects some valid ones; patching bytes cannot drift.
 * - Relative branches are re-emitted in their rel32 form (e9, 0f 8x), so a
 *   measured size never depends on where the code lands. rel8-only branches
 *   (jrcxz/jecxz/loop/loope/loopne) keep their original bytes with the rel8
 *   pointed two bytes ahead: `op L1; jmp short L2; L1: jmp rel32 T; L2:`.
 *   That preserves the exact rcx/ecx and flag semantics, including a 0x67
 *   prefix that selects ecx.
 * - A 0x66 prefix on a near branch means rel16 and a 16-bit IP on AMD but is
 *   ignored on Intel; such code has no single meaning and is refused. So is
 *   0x67 on a RIP-relative operand (EIP-relative: the address wraps at 4 GiB).
 * - A stolen call must not leave a return address in the new section (Go's
 *   unwinder, C++ EH and morestack all look the caller up by that address),
 *   so calls become "push ret_va; jmp callee", where ret_va comes from a
 *   RIP-relative lea (the image may load anywhere) through a saved rax;
 *   nothing in the sequence touches flags.
 *   Indirect calls get the same treatment (ff /2 becomes ff /4) unless their
 *   operand depends on rsp, which the push would shift.
 * - Branch hint prefixes (2e/3e on jcc) are dropped: they have no
 *   architectural effect. The MPX bnd prefix (f2) is kept.
 */
#include "x86.h"

#include <Zydis/Zydis.h>
/* HP_HAVE_SSE2 (CMakeLists.txt): branch candidates 16 bytes at a time. Off
 * on hosts without SSE2 (Apple Silicon) and under HP_PORTABLE, where the
 * byte loop of hp_x86_branch_candidates finds the same ones. */
#ifdef HP_HAVE_SSE2
#include <emmintrin.h>
#endif
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One decoded instruction with its operands; never leaves this file. */
typedef struct hp_zdec {
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
} hp_zdec;

/* The decoder is immutable once initialised; build it once. */
static ZydisDecoder hp_zd_full, hp_zd_min;
static bool hp_zd_ready;
static pthread_once_t hp_zd_once = PTHREAD_ONCE_INIT;

static void zdecoder_init(void)
{
    hp_zd_ready =
        ZYAN_SUCCESS(ZydisDecoderInit(&hp_zd_full, ZYDIS_MACHINE_MODE_LONG_64,
                                      ZYDIS_STACK_WIDTH_64)) &&
        ZYAN_SUCCESS(ZydisDecoderInit(&hp_zd_min, ZYDIS_MACHINE_MODE_LONG_64,
                                      ZYDIS_STACK_WIDTH_64)) &&
        ZYAN_SUCCESS(ZydisDecoderEnableMode(&hp_zd_min, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE));
}

/* The decoders, set up once (whole-image scans run on several threads).
 * The minimal one skips semantic analysis: length and raw fields only. */
static const ZydisDecoder *zdecoder(void)
{
    pthread_once(&hp_zd_once, zdecoder_init);
    return hp_zd_ready ? &hp_zd_full : NULL;
}

static const ZydisDecoder *zdecoder_min(void)
{
    pthread_once(&hp_zd_once, zdecoder_init);
    return hp_zd_ready ? &hp_zd_min : NULL;
}

static bool zdecode(const uint8_t *p, size_t n, hp_zdec *z)
{
    const ZydisDecoder *d = zdecoder();
    if (!p || n == 0 || !d)
        return false;
    return ZYAN_SUCCESS(ZydisDecoderDecodeFull(d, p, n, &z->in, z->ops));
}

/* The visible relative-immediate operand (branch displacement), if any. */
static const ZydisDecodedOperand *rel_imm(const hp_zdec *z)
{
    for (unsigned i = 0; i < z->in.operand_count_visible; i++)
        if (z->ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && z->ops[i].imm.is_relative)
            return &z->ops[i];
    return NULL;
}

/* The visible RIP- or EIP-relative memory operand, if any. */
static const ZydisDecodedOperand *rip_mem(const hp_zdec *z)
{
    for (unsigned i = 0; i < z->in.operand_count_visible; i++) {
        const ZydisDecodedOperand *o = &z->ops[i];
        if (o->type == ZYDIS_OPERAND_TYPE_MEMORY &&
            (o->mem.base == ZYDIS_REGISTER_RIP || o->mem.base == ZYDIS_REGISTER_EIP))
            return o;
    }
    return NULL;
}

/* Jcc is legacy-encoded only: Zydis also decodes the Knights Corner mask
 * branches (VEX 0F 84/85: jkzd, jknzd), which #UD on x86-64 CPUs and must not
 * be re-encoded as jz/jnz. */
static bool is_jcc_opcode(const ZydisDecodedInstruction *in)
{
    if (in->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
        return false;
    if (in->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT)
        return in->opcode >= 0x70 && in->opcode <= 0x7f;
    return in->opcode_map == ZYDIS_OPCODE_MAP_0F && in->opcode >= 0x80 && in->opcode <= 0x8f;
}

static hp_insn_kind classify_branch(const hp_zdec *z)
{
    bool rel = rel_imm(z) != NULL;
    switch (z->in.mnemonic) {
    case ZYDIS_MNEMONIC_JMP: return rel ? HP_INSN_JMP : HP_INSN_JMP_IND;
    case ZYDIS_MNEMONIC_CALL: return rel ? HP_INSN_CALL : HP_INSN_CALL_IND;
    case ZYDIS_MNEMONIC_JRCXZ:
    case ZYDIS_MNEMONIC_JECXZ:
    case ZYDIS_MNEMONIC_LOOP:
    case ZYDIS_MNEMONIC_LOOPE:
    case ZYDIS_MNEMONIC_LOOPNE: return HP_INSN_LOOP;
    default: return rel && is_jcc_opcode(&z->in) ? HP_INSN_JCC : HP_INSN_OTHER;
    }
}

static hp_insn_kind classify(const hp_zdec *z)
{
    switch (z->in.mnemonic) {
    case ZYDIS_MNEMONIC_RET: /* near and far (retf) */
    case ZYDIS_MNEMONIC_IRET:
    case ZYDIS_MNEMONIC_IRETD:
    case ZYDIS_MNEMONIC_IRETQ: return HP_INSN_RET;
    case ZYDIS_MNEMONIC_INT3: return HP_INSN_INT3;
    case ZYDIS_MNEMONIC_NOP: return HP_INSN_NOP; /* 90, 66 90, 0f 1f /0, ... */
    case ZYDIS_MNEMONIC_UD2: return HP_INSN_UD2;
    case ZYDIS_MNEMONIC_ENDBR64: return HP_INSN_ENDBR64;
    default: return classify_branch(z);
    }
}

/* What reloc_dispatch copies verbatim: nothing in it depends on where it
 * runs. */
static bool is_plain(const hp_zdec *z, hp_insn_kind kind)
{
    switch (kind) {
    case HP_INSN_JMP:
    case HP_INSN_JCC:
    case HP_INSN_CALL:
    case HP_INSN_LOOP:
    case HP_INSN_CALL_IND: return false;
    default: break;
    }
    return !rel_imm(z) && !rip_mem(z) && !(z->in.attributes & ZYDIS_ATTRIB_IS_RELATIVE);
}

static void fill_insn(const hp_zdec *z, uint64_t va, hp_insn *out)
{
    memset(out, 0, sizeof *out);
    out->va = va;
    out->len = z->in.length;
    out->kind = (uint8_t)classify(z);
    ZyanU64 abs;
    const ZydisDecodedOperand *o = rel_imm(z);
    if (o && ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&z->in, o, va, &abs))) {
        out->has_target = true;
        out->target_va = abs;
    }
    o = rip_mem(z);
    if (o && ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&z->in, o, va, &abs))) {
        out->rip_rel = true;
        out->has_target = true;
        out->mem_va = abs;
    }
    out->plain = is_plain(z, (hp_insn_kind)out->kind);
}

hp_status hp_x86_decode(const uint8_t *p, size_t n, uint64_t va, hp_insn *out)
{
    if (!out)
        return HP_ERR_INTERNAL;
    hp_zdec z;
    if (!zdecode(p, n, &z))
        return HP_ERR_FORMAT;
    fill_insn(&z, va, out);
    return HP_OK;
}

/* lea with a RIP-relative source: the address it computes. */
static bool x86_lea_rip(const hp_zdec *z, uint64_t va, hp_addr_ref *out)
{
    const ZydisDecodedInstruction *in = &z->in;
    if (in->mnemonic != ZYDIS_MNEMONIC_LEA || z->ops[1].type != ZYDIS_OPERAND_TYPE_MEMORY ||
        z->ops[1].mem.base != ZYDIS_REGISTER_RIP || z->ops[1].mem.index != ZYDIS_REGISTER_NONE ||
        in->raw.disp.size != 32)
        return false;
    *out = (hp_addr_ref){.kind = HP_REF_PCADDR, .off = in->raw.disp.offset, .size = 4,
                         .addr = va + in->length + (uint64_t)in->raw.disp.value};
    return true;
}

/* mov r, imm32/imm64; mov r/m, imm32; push imm32: an absolute address as
 * non-PIE code loads one. The value as the CPU extends it. */
static bool x86_abs_imm(const hp_zdec *z, hp_addr_ref *out)
{
    const ZydisDecodedInstruction *in = &z->in;
    ZydisMnemonic m = in->mnemonic;
    if ((m != ZYDIS_MNEMONIC_MOV && m != ZYDIS_MNEMONIC_PUSH) || in->raw.imm[0].size < 32 ||
        in->raw.imm[0].is_relative)
        return false;
    uint64_t v = in->raw.imm[0].value.u;
    if (in->raw.imm[0].size == 32)
        v = in->operand_width == 64 ? (uint64_t)(int64_t)(int32_t)(uint32_t)v : (uint32_t)v;
    *out = (hp_addr_ref){.kind = HP_REF_ABS, .off = in->raw.imm[0].offset,
                         .size = (uint8_t)(in->raw.imm[0].size / 8), .addr = v};
    return true;
}

bool hp_x86_addr_ref(const uint8_t *p, size_t n, uint64_t va, hp_addr_ref *out)
{
    hp_zdec z;
    *out = (hp_addr_ref){0};
    if (!zdecode(p, n, &z))
        return false;
    return x86_lea_rip(&z, va, out) || x86_abs_imm(&z, out);
}

bool hp_x86_tail_jump(const uint8_t *prev, size_t prev_len, const uint8_t *jmp, size_t jmp_len)
{
    hp_zdec z, y;
    if (!zdecode(jmp, jmp_len, &z) || z.in.mnemonic != ZYDIS_MNEMONIC_JMP)
        return false;
    /* notrack: CET's mark of a jump table's dispatch (-fcf-protection). */
    if (z.in.attributes & ZYDIS_ATTRIB_HAS_NOTRACK)
        return false;
    /* jmp [mem] with no index: a slot (GOT, vtable), not a table. */
    const ZydisDecodedOperand *o = &z.ops[0];
    if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && o->mem.index == ZYDIS_REGISTER_NONE)
        return true;
    if (o->type != ZYDIS_OPERAND_TYPE_REGISTER || !zdecode(prev, prev_len, &y))
        return false;
    /* jmp reg right after the frame is torn down. */
    if (y.in.mnemonic == ZYDIS_MNEMONIC_POP || y.in.mnemonic == ZYDIS_MNEMONIC_LEAVE)
        return true;
    return y.in.mnemonic == ZYDIS_MNEMONIC_ADD && y.ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
           y.ops[0].reg.value == ZYDIS_REGISTER_RSP;
}

/* ---- formatting */

static void format_bad(const uint8_t *p, size_t n, char *buf, size_t buf_len)
{
    size_t at = (size_t)snprintf(buf, buf_len, "(bad)");
    for (size_t i = 0; p && i < n && i < 8 && at < buf_len; i++)
        at += (size_t)snprintf(buf + at, buf_len - at, " %02x", p[i]);
}

void hp_x86_format(const uint8_t *p, size_t n, uint64_t va, char *buf, size_t buf_len)
{
    if (!buf || buf_len == 0)
        return;
    hp_zdec z;
    ZydisFormatter f;
    if (!zdecode(p, n, &z) || !ZYAN_SUCCESS(ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_INTEL))) {
        format_bad(p, n, buf, buf_len);
        return;
    }
    /* Short addresses read better in messages than 16 padded digits. */
    ZydisFormatterSetProperty(&f, ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE, ZYDIS_PADDING_DISABLED);
    ZydisFormatterSetProperty(&f, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
    if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&f, &z.in, z.ops, z.in.operand_count_visible,
                                                      buf, buf_len, va, NULL)))
        format_bad(p, n, buf, buf_len);
}

/* ---- scanning */

static bool is_rel_branch(const hp_insn *i) { return i->has_target && !i->rip_rel; }

/* Targets are marked in a bitmap over the body: dedup and sort for free, and
 * memory stays proportional to size (one bit per byte). */
static hp_status mark_target(uint64_t **bits, uint64_t size, uint64_t off)
{
    if (!*bits) {
        *bits = hp_calloc((size_t)(size / 64 + 1), sizeof **bits);
        if (!*bits)
            return HP_ERR_NOMEM;
    }
    (*bits)[off / 64] |= (uint64_t)1 << (off % 64);
    return HP_OK;
}

static hp_status collect_targets(const uint64_t *bits, uint64_t size, uint64_t va,
                                 hp_func_scan *out)
{
    if (!bits)
        return HP_OK;
    size_t words = (size_t)(size / 64 + 1), count = 0;
    for (size_t w = 0; w < words; w++)
        count += (size_t)__builtin_popcountll(bits[w]);
    HP_CHECK(HP_GROW(out->targets, out->targets_cap, count));
    for (size_t w = 0; w < words; w++)
        for (uint64_t m = bits[w]; m; m &= m - 1)
            out->targets[out->ntargets++] = va + (uint64_t)w * 64 + (uint64_t)__builtin_ctzll(m);
    return HP_OK;
}

static hp_status scan_body(const uint8_t *p, uint64_t size, uint64_t va, hp_func_scan *out,
                           uint64_t **bits)
{
    uint64_t off = 0;
    hp_insn insn;
    while (off < size && hp_x86_decode(p + off, (size_t)(size - off), va + off, &insn) == HP_OK) {
        HP_CHECK(HP_GROW(out->insns, out->insns_cap, out->ninsns + 1));
        out->insns[out->ninsns++] = insn;
        /* Unsigned wrap makes targets below va land beyond size. */
        if (is_rel_branch(&insn) && insn.target_va - va < size)
            HP_CHECK(mark_target(bits, size, insn.target_va - va));
        off += insn.len;
    }
    out->ok_size = off;
    return HP_OK;
}

/* Whole-image scans decode every instruction of every function, so this
 * path skips operand decoding: the length and the raw relative immediate
 * are all a branch target needs. */
hp_status hp_x86_branches(const uint8_t *p, uint64_t size, uint64_t va, hp_x86_branch_fn fn,
                          void *ctx, uint64_t *ok_size)
{
    const ZydisDecoder *d = zdecoder_min();
    if (!d || (!p && size))
        return HP_ERR_INTERNAL;
    uint64_t off = 0;
    ZydisDecoderContext zc;
    ZydisDecodedInstruction in;
    while (off < size &&
           ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(d, &zc, p + off, (size_t)(size - off), &in))) {
        /* Legacy encodings only: Zydis also decodes Knights Corner's
         * VEX-encoded mask jumps (jknzd), which no x86-64 CPU since runs. */
        for (int i = 0; i < 2 && in.encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY; i++)
            if (in.raw.imm[i].is_relative) {
                uint64_t next = va + off + in.length;
                HP_CHECK(fn(ctx, va + off, next + (uint64_t)in.raw.imm[i].value.s));
            }
        off += in.length;
    }
    *ok_size = off;
    return HP_OK;
}

/* Opcode classes for hp_x86_branch_candidates. */
enum { XC_NONE, XC_REL8, XC_REL32, XC_0F, XC_C7 };

static const uint8_t xc_cls[256] = {
    [0x0f] = XC_0F, /* jcc rel32 when the next byte is 0x80-0x8f */
    [0x70] = XC_REL8, [0x71] = XC_REL8, [0x72] = XC_REL8, [0x73] = XC_REL8, /* jcc rel8 */
    [0x74] = XC_REL8, [0x75] = XC_REL8, [0x76] = XC_REL8, [0x77] = XC_REL8,
    [0x78] = XC_REL8, [0x79] = XC_REL8, [0x7a] = XC_REL8, [0x7b] = XC_REL8,
    [0x7c] = XC_REL8, [0x7d] = XC_REL8, [0x7e] = XC_REL8, [0x7f] = XC_REL8,
    [0xc7] = XC_C7, /* xbegin when the next byte is 0xf8 */
    [0xe0] = XC_REL8, [0xe1] = XC_REL8, [0xe2] = XC_REL8, [0xe3] = XC_REL8, /* loop*, jrcxz */
    [0xe8] = XC_REL32, [0xe9] = XC_REL32, [0xeb] = XC_REL8,
};

/* Whether the prefixes just before the opcode at p[i] (legacy prefixes in
 * any order, and REX bytes: one last applies, one before a legacy prefix
 * is ignored but still decoded as a prefix) include the operand-size
 * prefix 0x66. */
static bool xc_opsize_prefix(const uint8_t *p, uint64_t i)
{
    uint64_t j = i;
    for (unsigned k = 0; j && k < 14; k++, j--) {
        if ((p[j - 1] & 0xf0) == 0x40)
            continue; /* REX */
        switch (p[j - 1]) {
        case 0x66: return true;
        case 0x67: case 0xf2: case 0xf3: case 0xf0:
        case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65: continue;
        default: return false;
        }
    }
    return false;
}

/* Report (at, t) unless the filter drops t. */
static inline __attribute__((always_inline)) hp_status xc_report(const hp_x86_target_filter *f, uint64_t at, uint64_t t,
                                  hp_x86_branch_fn fn, void *ctx)
{
    uint64_t o = t - f->lo;
    if (o >= f->span || (f->blocks && !(f->blocks[o >> 9] & (1u << ((o >> 6) & 7)))))
        return HP_OK;
    return fn(ctx, at, t);
}

/* The candidate, if any, whose opcode is p[i] (class k != XC_NONE). */
static inline __attribute__((always_inline)) hp_status xc_one(const uint8_t *p, uint64_t i, uint64_t size, uint64_t va,
                               unsigned k, const hp_x86_target_filter *f, hp_x86_branch_fn fn,
                               void *ctx)
{
    uint64_t left = size - i, at = va + i;
    if (k == XC_REL8)
        return left > 1 ? xc_report(f, at, at + 2 + (uint64_t)(int64_t)(int8_t)p[i + 1], fn, ctx)
                        : HP_OK;
    /* op: opcode bytes before the immediate (0 when not a branch here) */
    unsigned op = k == XC_REL32                                    ? 1
                  : k == XC_0F && left > 1 && (p[i + 1] & 0xf0) == 0x80 ? 2
                  : k == XC_C7 && left > 1 && p[i + 1] == 0xf8          ? 2
                                                                        : 0;
    if (!op)
        return HP_OK;
    if (left >= op + 4ull)
        HP_CHECK(xc_report(f, at, at + op + 4 + (uint64_t)(int64_t)(int32_t)hp_rd32(p + i + op),
                           fn, ctx));
    if (left >= op + 2ull && xc_opsize_prefix(p, i)) /* rel16 */
        HP_CHECK(xc_report(f, at, at + op + 2 + (uint64_t)(int64_t)(int16_t)hp_rd16(p + i + op),
                           fn, ctx));
    return HP_OK;
}

#ifdef HP_HAVE_SSE2
/* Whether the filter keeps any target in [lo, hi) (block granularity). */
static bool xc_near(const hp_x86_target_filter *f, uint64_t lo, uint64_t hi)
{
    if (!f->blocks)
        return true;
    uint64_t a = lo - f->lo, b = hi - f->lo;
    if (lo < f->lo)
        a = 0;
    if (hi <= f->lo || a >= f->span)
        return false;
    if (b > f->span)
        b = f->span;
    for (uint64_t k = a >> 6; k <= (b - 1) >> 6; k++)
        if (f->blocks[k >> 3] & (1u << (k & 7)))
            return true;
    return false;
}

/* One 16-byte block [i, i + 16) with p[i - 1] and p[i + 16] readable. The
 * opcodes are split by form, so each loop body is straight-line code (a
 * per-byte switch on the form mispredicts on every other candidate). */
static inline __attribute__((always_inline)) hp_status
xc_block(const uint8_t *p, uint64_t i, uint64_t size, uint64_t va, const hp_x86_target_filter *f,
         bool rel8_on, hp_x86_branch_fn fn, void *ctx)
{
    const __m128i x = _mm_loadu_si128((const __m128i *)(p + i));
    const __m128i next = _mm_loadu_si128((const __m128i *)(p + i + 1));
    const __m128i fc = _mm_and_si128(x, _mm_set1_epi8((char)0xfc));
    __m128i rel8 = _mm_or_si128(
        _mm_cmpeq_epi8(_mm_and_si128(x, _mm_set1_epi8((char)0xf0)), _mm_set1_epi8(0x70)),
        _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8((char)0xeb)),
                     _mm_cmpeq_epi8(fc, _mm_set1_epi8((char)0xe0))));
    __m128i rel32 = _mm_cmpeq_epi8(_mm_and_si128(x, _mm_set1_epi8((char)0xfe)),
                                   _mm_set1_epi8((char)0xe8));
    __m128i two = _mm_or_si128( /* 0f 8x (jcc rel32) and c7 f8 (xbegin) */
        _mm_and_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(0x0f)),
                      _mm_cmpeq_epi8(_mm_and_si128(next, _mm_set1_epi8((char)0xf0)),
                                     _mm_set1_epi8((char)0x80))),
        _mm_and_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8((char)0xc7)),
                      _mm_cmpeq_epi8(next, _mm_set1_epi8((char)0xf8))));
    for (unsigned b = rel8_on ? (unsigned)_mm_movemask_epi8(rel8) : 0; b; b &= b - 1) {
        uint64_t at = i + (unsigned)__builtin_ctz(b);
        HP_CHECK(xc_report(f, va + at, va + at + 2 + (uint64_t)(int64_t)(int8_t)p[at + 1], fn, ctx));
    }
    unsigned m32 = (unsigned)_mm_movemask_epi8(rel32), m2 = (unsigned)_mm_movemask_epi8(two);
    if (!(m32 | m2))
        return HP_OK;
    for (unsigned b = m32; b; b &= b - 1)
        HP_CHECK(xc_one(p, i + (unsigned)__builtin_ctz(b), size, va, XC_REL32, f, fn, ctx));
    for (unsigned b = m2; b; b &= b - 1) {
        uint64_t at = i + (unsigned)__builtin_ctz(b);
        HP_CHECK(xc_one(p, at, size, va, p[at] == 0x0f ? XC_0F : XC_C7, f, fn, ctx));
    }
    return HP_OK;
}
#endif

hp_status hp_x86_branch_candidates(const uint8_t *p, uint64_t size, uint64_t va,
                                   const hp_x86_target_filter *filter, hp_x86_branch_fn fn,
                                   void *ctx)
{
    if (!p && size)
        return HP_ERR_INTERNAL;
    const hp_x86_target_filter all = {0, UINT64_MAX, NULL};
    const hp_x86_target_filter *f = filter ? filter : &all;
    const uint8_t *cls = xc_cls;
    uint64_t i = 0;
#ifdef HP_HAVE_SSE2
    if (size >= 18) {
        if (cls[p[0]] != XC_NONE)
            HP_CHECK(xc_one(p, 0, size, va, cls[p[0]], f, fn, ctx));
        bool near = true;
        for (i = 1; i + 17 <= size; i += 16) {
            if (((i - 1) & 63) == 0) /* every 64 bytes: can a rel8 reach a kept block? */
                near = xc_near(f, va + i >= 128 ? va + i - 128 : 0, va + i + 64 + 130);
            HP_CHECK(xc_block(p, i, size, va, f, near, fn, ctx));
        }
    }
#endif
    for (; i < size; i++)
        if (cls[p[i]] != XC_NONE)
            HP_CHECK(xc_one(p, i, size, va, cls[p[i]], f, fn, ctx));
    return HP_OK;
}

hp_status hp_x86_scan(const uint8_t *p, uint64_t size, uint64_t va, hp_func_scan *out)
{
    if (!out)
        return HP_ERR_INTERNAL;
    memset(out, 0, sizeof *out);
    if (!p && size)
        return HP_ERR_INTERNAL;
    if (size > SIZE_MAX / 2)
        return HP_ERR_NOMEM;
    if (size && va + (size - 1) < va)
        return HP_ERR_RANGE; /* a body wrapping past 2^64 has no sorted order */
    uint64_t *bits = NULL;
    hp_status s = scan_body(p, size, va, out, &bits);
    if (s == HP_OK)
        s = collect_targets(bits, size, va, out);
    hp_free(bits);
    if (s != HP_OK)
        hp_x86_scan_free(out);
    return s;
}

void hp_x86_scan_free(hp_func_scan *s)
{
    if (!s)
        return;
    hp_free(s->insns);
    hp_free(s->targets);
    memset(s, 0, sizeof *s);
}

/* ---- fixed sequences */

bool hp_x86_rel32_reach(uint64_t from_va_after_insn, uint64_t to_va)
{
    int64_t d = (int64_t)(to_va - from_va_after_insn);
    return d >= INT32_MIN && d <= INT32_MAX;
}

/* A rel32 field at out+off for an instruction ending at end_va; false when
 * to_va is out of reach. */
static bool hp_x86_put_rel32(uint8_t *out, size_t off, uint64_t end_va, uint64_t to_va)
{
    if (!hp_x86_rel32_reach(end_va, to_va))
        return false;
    hp_wr32(out + off, (uint32_t)(to_va - end_va));
    return true;
}

size_t hp_x86_jmp32(uint8_t *out, uint64_t at_va, uint64_t to_va)
{
    if (!out)
        return 5;
    if (!hp_x86_put_rel32(out, 1, at_va + 5, to_va))
        return 0; /* out untouched */
    out[0] = 0xe9;
    return 5;
}

/* mov r,[rip+slot]; test r,r; jz tramp; (go: mov rdx,r12; jmp [r12]) or
 * jmp r11. R11 is the one register SysV and MS x64 leave free at entry
 * (R10 is the static chain, AL the varargs count); Go's ABIInternal passes
 * arguments in R10/R11 but leaves R12/R13 free. */
size_t hp_x86_dispatch(uint8_t *out, uint64_t at_va, uint64_t slot_va, uint64_t tramp_va,
                       bool go)
{
    static const uint8_t c_code[19] = {0x4c, 0x8b, 0x1d, 0, 0, 0, 0, 0x4d, 0x85, 0xdb,
                                       0x0f, 0x84, 0, 0, 0, 0, 0x41, 0xff, 0xe3};
    static const uint8_t go_code[23] = {0x4c, 0x8b, 0x25, 0, 0, 0, 0, 0x4d, 0x85, 0xe4, 0x0f, 0x84,
                                        0, 0, 0, 0, 0x4c, 0x89, 0xe2, 0x41, 0xff, 0x24, 0x24};
    size_t n = go ? sizeof go_code : sizeof c_code;
    if (!out)
        return n;
    memcpy(out, go ? go_code : c_code, n);
    if (!hp_x86_put_rel32(out, 3, at_va + 7, slot_va) ||
        !hp_x86_put_rel32(out, 12, at_va + 16, tramp_va))
        return 0;
    return n;
}

size_t hp_x86_ret_addr(uint8_t *out, uint64_t at_va, uint64_t to_va)
{
    static const uint8_t code[8] = {0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3};
    if (!out)
        return sizeof code;
    memcpy(out, code, sizeof code);
    return hp_x86_put_rel32(out, 3, at_va + 7, to_va) ? sizeof code : 0;
}

/* Go's ABIInternal keeps g in R14. */
size_t hp_x86_ret_go_g(uint8_t *out)
{
    static const uint8_t code[4] = {0x4c, 0x89, 0xf0, 0xc3};
    if (out)
        memcpy(out, code, sizeof code);
    return sizeof code;
}

size_t hp_x86_ret_imm(uint8_t *out, int64_t value)
{
    uint8_t b[11];
    size_t n;
    if (value >= 0 && value <= (int64_t)UINT32_MAX) { /* mov eax, imm32 zero-extends */
        b[0] = 0xb8;
        hp_wr32(b + 1, (uint32_t)value);
        n = 5;
    } else if (value >= INT32_MIN && value < 0) { /* mov rax, simm32 sign-extends */
        memcpy(b, "\x48\xc7\xc0", 3);
        hp_wr32(b + 3, (uint32_t)value);
        n = 7;
    } else { /* movabs rax, imm64 */
        memcpy(b, "\x48\xb8", 2);
        hp_wr64(b + 2, (uint64_t)value);
        n = 10;
    }
    b[n++] = 0xc3;
    if (out)
        memcpy(out, b, n);
    return n;
}

size_t hp_x86_ud2(uint8_t *out)
{
    if (out)
        memcpy(out, "\x0f\x0b", 2);
    return 2;
}

size_t hp_x86_jmp_abs(uint8_t *out, uint64_t to_va)
{
    if (out) {
        memcpy(out, "\xff\x25\x00\x00\x00\x00", 6);
        hp_wr64(out + 6, to_va);
    }
    return 14;
}

/* ---- relocation */

/* State of one hp_x86_relocate call. Emitting to out == NULL only counts,
 * which is what makes measuring and emitting the same code path. */
typedef struct hp_reloc {
    const uint8_t *p; /* borrowed: the source instruction */
    uint64_t src_va, dst_va, ret_va;
    hp_zdec z;
    uint8_t *out; /* borrowed; NULL when measuring */
    size_t len;
    hp_diags *why; /* borrowed; NULL: no reason wanted */
} hp_reloc;

static hp_status refuse(hp_reloc *r, hp_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static hp_status refuse(hp_reloc *r, hp_status s, const char *fmt, ...)
{
    if (!r->why)
        return s;
    char text[96];
    hp_x86_format(r->p, r->z.in.length, r->src_va, text, sizeof text);
    va_list ap;
    va_start(ap, fmt);
    hp_status st = hp_insn_refuse(r->why, s, r->src_va, text, fmt, ap);
    va_end(ap);
    return st;
}

static void put(hp_reloc *r, const void *b, size_t n)
{
    if (r->out)
        memcpy(r->out + r->len, b, n);
    r->len += n;
}

static void put8(hp_reloc *r, uint8_t v) { put(r, &v, 1); }

static void put32(hp_reloc *r, uint32_t v)
{
    uint8_t b[4];
    hp_wr32(b, v);
    put(r, b, 4);
}

static uint64_t here_va(const hp_reloc *r) { return r->dst_va + r->len; }

/* Write `to - end` as a 32-bit field at out offset `at`. Range is only
 * checked when emitting: a measurement must succeed at any dummy address. */
static hp_status fix32(hp_reloc *r, size_t at, uint64_t end_va, uint64_t to_va, const char *what)
{
    if (!r->out)
        return HP_OK;
    if (!hp_x86_put_rel32(r->out, at, end_va, to_va))
        return refuse(r, HP_ERR_RANGE, "%s 0x%llx is out of rel32 reach from 0x%llx", what,
                      (unsigned long long)to_va, (unsigned long long)r->dst_va);
    return HP_OK;
}

/* Append a 4-byte relative field that ends the instruction being emitted. */
static hp_status put_rel32(hp_reloc *r, uint64_t to_va)
{
    size_t at = r->len;
    put32(r, 0);
    return fix32(r, at, here_va(r), to_va, "branch target");
}

static uint64_t target_of(const hp_reloc *r)
{
    ZyanU64 abs = 0;
    ZyanStatus zs = ZydisCalcAbsoluteAddress(&r->z.in, rel_imm(&r->z), r->src_va, &abs);
    assert(ZYAN_SUCCESS(zs));
    (void)zs;
    return abs;
}

static hp_status check_branch_prefixes(hp_reloc *r)
{
    if (r->z.in.attributes & ZYDIS_ATTRIB_HAS_OPERANDSIZE)
        return refuse(r, HP_ERR_UNHOOKABLE,
                      "operand-size prefix on a branch means rel16 on AMD but not on Intel");
    return HP_OK;
}

static void put_bnd(hp_reloc *r)
{
    if (r->z.in.attributes & ZYDIS_ATTRIB_HAS_BND)
        put8(r, 0xf2);
}

static hp_status reloc_jmp(hp_reloc *r)
{
    HP_CHECK(check_branch_prefixes(r));
    put_bnd(r);
    put8(r, 0xe9);
    return put_rel32(r, target_of(r));
}

static hp_status reloc_jcc(hp_reloc *r)
{
    HP_CHECK(check_branch_prefixes(r));
    put_bnd(r);
    put8(r, 0x0f);
    put8(r, (uint8_t)(0x80 | (r->z.in.opcode & 0x0f))); /* condition code sits in the low nibble */
    return put_rel32(r, target_of(r));
}

/* Push ret_va as a 64-bit value, touching neither flags nor any register
 * but rsp, and position-independently: a PIE, .so or static-pie loads at an
 * address unknown here, so the return address must come from a RIP-relative
 * lea, not an immediate.
 *   lea rsp,[rsp-8]; push rax; lea rax,[rip+X]; mov [rsp+8],rax; pop rax
 * The slot below rsp is free: this runs at a function entry, before the
 * function could have stored anything in its red zone. */
static hp_status put_push_ret(hp_reloc *r)
{
    put(r, "\x48\x8d\x64\x24\xf8\x50", 6);
    size_t at = r->len;
    put(r, "\x48\x8d\x05\0\0\0\0", 7);
    HP_CHECK(fix32(r, at + 3, here_va(r), r->ret_va, "return address"));
    put(r, "\x48\x89\x44\x24\x08\x58", 6);
    return HP_OK;
}

static hp_status reloc_call(hp_reloc *r)
{
    HP_CHECK(check_branch_prefixes(r));
    if (r->ret_va == 0)
        return refuse(r, HP_ERR_UNHOOKABLE, "a stolen call would leave a return address in the "
                                            "new section (no return address given)");
    HP_CHECK(put_push_ret(r));
    put_bnd(r);
    put8(r, 0xe9);
    return put_rel32(r, target_of(r));
}

/* `op L1; jmp short L2; L1: jmp rel32 target; L2:` - the original bytes with
 * rel8 = 2, so prefixes (0x67 selects ecx) and flag behaviour stay intact. */
static hp_status reloc_loop(hp_reloc *r)
{
    HP_CHECK(check_branch_prefixes(r));
    const ZydisDecodedInstruction *in = &r->z.in;
    size_t at = r->len;
    assert(in->raw.imm[0].is_relative && in->raw.imm[0].size == 8);
    put(r, r->p, in->length);
    if (r->out)
        r->out[at + in->raw.imm[0].offset] = 2;
    put(r, "\xeb\x05", 2);
    put8(r, 0xe9);
    return put_rel32(r, target_of(r));
}

static bool uses_rsp(const ZydisDecodedOperand *o)
{
    if (o->type == ZYDIS_OPERAND_TYPE_REGISTER)
        return ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o->reg.value) ==
               ZYDIS_REGISTER_RSP;
    if (o->type != ZYDIS_OPERAND_TYPE_MEMORY)
        return false;
    return ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o->mem.base) ==
               ZYDIS_REGISTER_RSP ||
           ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o->mem.index) ==
               ZYDIS_REGISTER_RSP;
}

/* Copy the instruction, pointing its disp32 at the same absolute address. */
static hp_status put_rip_rel(hp_reloc *r, uint8_t modrm_reg)
{
    const ZydisDecodedInstruction *in = &r->z.in;
    const ZydisDecodedOperand *m = rip_mem(&r->z);
    size_t at = r->len;
    put(r, r->p, in->length);
    if (r->out && modrm_reg != 0xff)
        r->out[at + in->raw.modrm.offset] =
            (uint8_t)((r->p[in->raw.modrm.offset] & 0xc7) | modrm_reg << 3);
    if (!m)
        return HP_OK;
    if (m->mem.base != ZYDIS_REGISTER_RIP)
        return refuse(r, HP_ERR_UNHOOKABLE, "eip-relative addressing wraps at 4 GiB");
    assert(in->raw.disp.size == 32);
    ZyanU64 abs = 0;
    if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(in, m, r->src_va, &abs)))
        return refuse(r, HP_ERR_UNHOOKABLE, "cannot compute its memory address");
    return fix32(r, at + in->raw.disp.offset, here_va(r), abs, "memory operand");
}

/* ff /2 (call near r/m) becomes ff /4 (jmp near r/m) after pushing ret_va. */
static hp_status reloc_call_ind(hp_reloc *r)
{
    const ZydisDecodedInstruction *in = &r->z.in;
    HP_CHECK(check_branch_prefixes(r));
    if (in->meta.branch_type != ZYDIS_BRANCH_TYPE_NEAR || in->opcode != 0xff ||
        in->raw.modrm.reg != 2)
        return refuse(r, HP_ERR_UNHOOKABLE, "only near indirect calls can be relocated");
    if (r->ret_va == 0)
        return refuse(r, HP_ERR_UNHOOKABLE, "a stolen call would leave a return address in the "
                                            "new section (no return address given)");
    if (uses_rsp(&r->z.ops[0]))
        return refuse(r, HP_ERR_UNHOOKABLE, "its operand depends on rsp, which the pushed "
                                            "return address would shift");
    HP_CHECK(put_push_ret(r));
    return put_rip_rel(r, 4);
}

/* xbegin rel32: patch the abort target in place. */
static hp_status reloc_rel_other(hp_reloc *r)
{
    const ZydisDecodedInstruction *in = &r->z.in;
    int i = in->raw.imm[0].is_relative ? 0 : 1;
    if (in->mnemonic != ZYDIS_MNEMONIC_XBEGIN || in->raw.imm[i].size != 32)
        return refuse(r, HP_ERR_UNHOOKABLE, "unsupported relative operand");
    size_t at = r->len;
    put(r, r->p, in->length);
    return fix32(r, at + in->raw.imm[i].offset, here_va(r), target_of(r), "branch target");
}

static hp_status reloc_dispatch(hp_reloc *r)
{
    switch (classify(&r->z)) {
    case HP_INSN_JMP: return reloc_jmp(r);
    case HP_INSN_JCC: return reloc_jcc(r);
    case HP_INSN_CALL: return reloc_call(r);
    case HP_INSN_LOOP: return reloc_loop(r);
    case HP_INSN_CALL_IND: return reloc_call_ind(r);
    default: break;
    }
    if (rel_imm(&r->z))
        return reloc_rel_other(r);
    if (rip_mem(&r->z))
        return put_rip_rel(r, 0xff);
    if (r->z.in.attributes & ZYDIS_ATTRIB_IS_RELATIVE)
        return refuse(r, HP_ERR_UNHOOKABLE, "position-dependent in a way hookpatch does not know");
    put(r, r->p, r->z.in.length);
    return HP_OK;
}

hp_status hp_x86_relocate(const uint8_t *p, size_t n, uint64_t src_va, uint64_t dst_va,
                          uint64_t ret_va, uint8_t *out, size_t *len, hp_diags *why)
{
    if (!len)
        return HP_ERR_INTERNAL;
    *len = 0;
    hp_reloc r = {.p = p, .src_va = src_va, .dst_va = dst_va, .ret_va = ret_va, .out = out,
                  .why = why};
    if (!zdecode(p, n, &r.z)) {
        char text[64];
        format_bad(p, n, text, sizeof text);
        hp_status st = hp_diag_reason(why, NULL, NULL, src_va, "invalid instruction at 0x%llx: %s",
                                      (unsigned long long)src_va, text);
        return st == HP_OK ? HP_ERR_FORMAT : st;
    }
    hp_status s = reloc_dispatch(&r);
    if (s == HP_OK)
        *len = r.len;
    return s;
}
