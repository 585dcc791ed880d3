/* The object model's shared code (object.h): picking the reader, the
 * relocation types the model speaks (x86-64, AArch64), the readers' error reporter,
 * and symbol sizes for the formats that record none. */
#include "object.h"

#include <stdlib.h>
#include <string.h>

/* ---- reading and freeing ------------------------------------------- */

/* ELF's reader explains what the bytes are not. */
hp_status hp_obj_read(hp_obj *o, const hp_map *comdats, hp_diags *d)
{
    if (hp_macho_obj_probe(o->data, o->size))
        return hp_macho_obj_read(o, comdats, d);
    if (hp_coff_obj_probe(o->data, o->size))
        return hp_coff_obj_read(o, comdats, d);
    return hp_elf_obj_read(o, comdats, d);
}

void hp_obj_free(hp_obj *o)
{
    hp_free(o->path);
    hp_free(o->loc_file);
    hp_free(o->data);
    hp_free(o->secs);
    hp_free(o->syms);
    hp_free(o->relas);
    hp_free(o->comdats);
    hp_free(o->strs);
    memset(o, 0, sizeof *o);
}

/* ---- relocation types ---------------------------------------------- */

#define R(n, w, k) [R_X86_64_##n] = {"R_X86_64_" #n, w, HP_RK_##k}
static const hp_obj_rel_info hp_rels_x86[] = {
    R(NONE, 0, OK),        R(64, 8, OK),          R(PC32, 4, OK),
    R(GOT32, 4, GOT),      R(PLT32, 4, OK),       R(COPY, 0, DYN),
    R(GLOB_DAT, 0, DYN),   R(JUMP_SLOT, 0, DYN),  R(RELATIVE, 0, DYN),
    R(GOTPCREL, 4, GOT),   R(32, 4, OK),          R(32S, 4, OK),
    R(16, 2, OK),          R(PC16, 2, OK),        R(8, 1, OK),
    R(PC8, 1, OK),         R(DTPMOD64, 0, TLS),   R(DTPOFF64, 0, TLS),
    R(TPOFF64, 0, TLS),    R(TLSGD, 0, TLS),      R(TLSLD, 0, TLS),
    R(DTPOFF32, 0, TLS),   R(GOTTPOFF, 0, TLS),   R(TPOFF32, 0, TLS),
    R(PC64, 8, OK),        R(GOTOFF64, 8, GOTBASE), R(GOTPC32, 4, GOTBASE),
    R(GOT64, 8, GOT),      R(GOTPCREL64, 8, GOT), R(GOTPC64, 8, GOTBASE),
    R(GOTPLT64, 8, GOT),   R(PLTOFF64, 8, GOTBASE), R(SIZE32, 4, OK),
    R(SIZE64, 8, OK),      R(GOTPC32_TLSDESC, 0, TLS), R(TLSDESC_CALL, 0, TLS),
    R(TLSDESC, 0, TLS),    R(IRELATIVE, 0, DYN),  R(RELATIVE64, 0, DYN),
    [39] = {"R_X86_64_PC32_BND", 4, HP_RK_OK},   [40] = {"R_X86_64_PLT32_BND", 4, HP_RK_OK},
    R(GOTPCRELX, 4, GOT),  R(REX_GOTPCRELX, 4, GOT),
    [43] = {"R_X86_64_CODE_4_GOTPCRELX", 0, HP_RK_NO},
    [44] = {"R_X86_64_CODE_4_GOTTPOFF", 0, HP_RK_TLS},
    [45] = {"R_X86_64_CODE_4_GOTPC32_TLSDESC", 0, HP_RK_TLS},
};
#undef R

/* AArch64 (AAELF64 numbering). Instruction fields are 4 bytes. What
 * compilers emit for ordinary C (gcc and clang, -O0 to -O2, PIC or not) is
 * applied; the MOVW groups (-mcmodel=large) and GOT-relative offsets are
 * known by name and refused. TLS types are the 512..571 range. */
#define A(n, w, k) [R_AARCH64_##n - 256] = {"R_AARCH64_" #n, w, HP_RK_##k}
static const hp_obj_rel_info hp_rels_a64[] = {
    A(ABS64, 8, OK),            A(ABS32, 4, OK),               A(ABS16, 2, OK),
    A(PREL64, 8, OK),           A(PREL32, 4, OK),              A(PREL16, 2, OK),
    A(MOVW_UABS_G0, 4, UNSUP),  A(MOVW_UABS_G0_NC, 4, UNSUP),  A(MOVW_UABS_G1, 4, UNSUP),
    A(MOVW_UABS_G1_NC, 4, UNSUP), A(MOVW_UABS_G2, 4, UNSUP),   A(MOVW_UABS_G2_NC, 4, UNSUP),
    A(MOVW_UABS_G3, 4, UNSUP),  A(MOVW_SABS_G0, 4, UNSUP),     A(MOVW_SABS_G1, 4, UNSUP),
    A(MOVW_SABS_G2, 4, UNSUP),  A(LD_PREL_LO19, 4, OK),        A(ADR_PREL_LO21, 4, OK),
    A(ADR_PREL_PG_HI21, 4, OK), A(ADR_PREL_PG_HI21_NC, 4, OK), A(ADD_ABS_LO12_NC, 4, OK),
    A(LDST8_ABS_LO12_NC, 4, OK), A(TSTBR14, 4, OK),            A(CONDBR19, 4, OK),
    A(JUMP26, 4, OK),           A(CALL26, 4, OK),              A(LDST16_ABS_LO12_NC, 4, OK),
    A(LDST32_ABS_LO12_NC, 4, OK), A(LDST64_ABS_LO12_NC, 4, OK),
    A(MOVW_PREL_G0, 4, UNSUP),  A(MOVW_PREL_G0_NC, 4, UNSUP),  A(MOVW_PREL_G1, 4, UNSUP),
    A(MOVW_PREL_G1_NC, 4, UNSUP), A(MOVW_PREL_G2, 4, UNSUP),   A(MOVW_PREL_G2_NC, 4, UNSUP),
    A(MOVW_PREL_G3, 4, UNSUP),  A(LDST128_ABS_LO12_NC, 4, OK),
    A(MOVW_GOTOFF_G0, 4, UNSUP), A(MOVW_GOTOFF_G0_NC, 4, UNSUP), A(MOVW_GOTOFF_G1, 4, UNSUP),
    A(MOVW_GOTOFF_G1_NC, 4, UNSUP), A(MOVW_GOTOFF_G2, 4, UNSUP), A(MOVW_GOTOFF_G2_NC, 4, UNSUP),
    A(MOVW_GOTOFF_G3, 4, UNSUP), A(GOTREL64, 8, UNSUP),        A(GOTREL32, 4, UNSUP),
    A(GOT_LD_PREL19, 4, GOT),   A(LD64_GOTOFF_LO15, 4, UNSUP), A(ADR_GOT_PAGE, 4, GOT),
    A(LD64_GOT_LO12_NC, 4, GOT), A(LD64_GOTPAGE_LO15, 4, UNSUP),
    [HP_R_AARCH64_PLT32 - 256] = {"R_AARCH64_PLT32", 4, HP_RK_OK},
    A(COPY, 0, DYN),            A(GLOB_DAT, 0, DYN),           A(JUMP_SLOT, 0, DYN),
    A(RELATIVE, 0, DYN),        A(TLS_DTPMOD, 0, DYN),         A(TLS_DTPREL, 0, DYN),
    A(TLS_TPREL, 0, DYN),       A(TLSDESC, 0, DYN),            A(IRELATIVE, 0, DYN),
};
#undef A

static const hp_obj_rel_info hp_rel_a64_none = {"R_AARCH64_NONE", 0, HP_RK_OK};

/* The TLS types (512..570), one name each for the refusal. */
static const hp_obj_rel_info *hp_rel_a64_tls(uint32_t type)
{
    static const hp_obj_rel_info tls = {"R_AARCH64_TLS*", 0, HP_RK_TLS};
    return type >= R_AARCH64_TLSGD_ADR_PREL21 && type <= R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC
               ? &tls : NULL;
}

static const hp_obj_rel_info *hp_rel_a64(uint32_t type)
{
    if (type == R_AARCH64_NONE)
        return &hp_rel_a64_none;
    uint32_t i = type - 256;
    if (type >= 256 && i < sizeof hp_rels_a64 / sizeof hp_rels_a64[0] && hp_rels_a64[i].name)
        return &hp_rels_a64[i];
    return hp_rel_a64_tls(type);
}

const hp_obj_rel_info *hp_obj_rel_lookup(hp_machine m, uint32_t type)
{
    if (m == HP_MACH_ARM64)
        return hp_rel_a64(type);
    if (type >= sizeof hp_rels_x86 / sizeof hp_rels_x86[0] || !hp_rels_x86[type].name)
        return NULL;
    return &hp_rels_x86[type];
}

const char *hp_obj_rel_name(hp_machine m, uint32_t type)
{
    const hp_obj_rel_info *r = hp_obj_rel_lookup(m, type);
    return r ? r->name : NULL;
}

unsigned hp_obj_rel_width(hp_machine m, uint32_t type)
{
    const hp_obj_rel_info *r = hp_obj_rel_lookup(m, type);
    return r ? r->width : 0;
}

bool hp_obj_rel_needs_got(hp_machine m, uint32_t type)
{
    const hp_obj_rel_info *r = hp_obj_rel_lookup(m, type);
    return r && r->kind == HP_RK_GOT;
}

uint32_t hp_obj_rel_abs64(hp_machine m)
{
    return m == HP_MACH_ARM64 ? R_AARCH64_ABS64 : R_X86_64_64;
}

const char *hp_obj_machine_name(hp_machine m)
{
    return m == HP_MACH_ARM64 ? "arm64" : "x86-64";
}

/* ---- reader errors ------------------------------------------------- */

static void hp_obj_vreport(hp_obj_errs *e, hp_status s, const char *fmt, va_list ap)
{
    if (e->st != HP_ERR_FORMAT)
        e->st = s;
    if (e->n++ > HP_OBJ_MAX_ERRORS)
        return;
    char *msg = hp_vasprintf(fmt, ap);
    if (e->n > HP_OBJ_MAX_ERRORS)
        hp_diag_add(e->d, HP_DIAG_ERROR, &e->o->loc, NULL,
                    "object '%s': too many errors, giving up", e->o->path);
    else
        hp_diag_add(e->d, HP_DIAG_ERROR, &e->o->loc, NULL, "object '%s': %s", e->o->path,
                    msg ? msg : "(out of memory)");
    hp_free(msg);
}

void hp_obj_warn(const hp_obj_errs *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hp_vasprintf(fmt, ap);
    va_end(ap);
    hp_diag_add(e->d, HP_DIAG_WARNING, &e->o->loc, NULL, "object '%s': %s", e->o->path,
                msg ? msg : "(out of memory)");
    hp_free(msg);
}

hp_status hp_obj_refuse(hp_obj_errs *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_obj_vreport(e, HP_ERR_LINK, fmt, ap);
    va_end(ap);
    return HP_ERR_LINK;
}

hp_status hp_obj_check_limits(hp_obj_errs *e, const hp_obj_sec *sec)
{
    if (sec->align > HP_OBJ_MAX_ALIGN)
        return hp_obj_refuse(e, "section '%s': alignment %llu is larger than a page", sec->name,
                             (unsigned long long)sec->align);
    if (sec->size > HP_OBJ_MAX_REGION)
        return hp_obj_refuse(e, "section '%s': too large (%llu bytes)", sec->name,
                             (unsigned long long)sec->size);
    return HP_OK;
}

hp_status hp_obj_bad(hp_obj_errs *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_obj_vreport(e, HP_ERR_FORMAT, fmt, ap);
    va_end(ap);
    return HP_ERR_FORMAT;
}

/* ---- sizes (COFF and Mach-O have none) ------------------------------ */

typedef struct hp_obj_pos {
    uint64_t value;
    uint32_t shndx, idx;
} hp_obj_pos;

static int hp_obj_pos_cmp(const void *a, const void *b)
{
    const hp_obj_pos *x = a, *y = b;
    if (x->shndx != y->shndx)
        return x->shndx < y->shndx ? -1 : 1;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

hp_status hp_obj_infer_sizes(hp_obj *o)
{
    hp_obj_pos *v = hp_calloc(o->nsyms ? o->nsyms : 1, sizeof *v);
    if (!v)
        return HP_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 1; i < o->nsyms; i++) {
        const hp_obj_sym *s = &o->syms[i];
        if (s->defined && !s->absolute && s->type != STT_SECTION && s->shndx < o->nsecs)
            v[n++] = (hp_obj_pos){s->value, s->shndx, (uint32_t)i};
    }
    qsort(v, n, sizeof *v, hp_obj_pos_cmp);
    for (size_t i = 0, next = 0; i < n; i++) {
        if (next <= i)
            for (next = i + 1; next < n && v[next].shndx == v[i].shndx &&
                               v[next].value == v[i].value; next++)
                ;
        uint64_t end = o->secs[v[i].shndx].size;
        if (next < n && v[next].shndx == v[i].shndx)
            end = v[next].value;
        o->syms[v[i].idx].size = end > v[i].value ? end - v[i].value : 0;
    }
    hp_free(v);
    return HP_OK;
}
