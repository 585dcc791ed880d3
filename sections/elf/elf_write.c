/* ELF writer: turns an hp_edit into the output file. See elf.c for the
 * layout and why it is so. The file is written with pwrite at computed
 * offsets; gaps stay holes. The input's unchanged bytes are copied file to
 * file (hp_sys_copy_range) so the mapping is not paged in just to be written
 * out again; pages holding patches are built in memory and written once. */
#include "elf_priv.h"
#include "../format.h"
#include "../../base/hp_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Adjacent dirty pages are written together up to this size (one pwrite
 * each); bounds the buffer when nearly every page of .text is patched. */
#define HP_ELF_RUN_MAX (64u * HP_ELF_PAGE)

static const char *const hp_elf_region_names[HP_REGION_COUNT] = {
    ".hookpatch", ".hookpatch.rodata", ".hookpatch.data"};

typedef struct hp_elf_out {
    const hp_image *img;
    const hp_edit *ed;
    hp_elf *e;
    hp_sink *out;
    int in_fd; /* the input file, to copy from; -1: write from img->data */
    uint64_t seg_off[HP_REGION_COUNT];
    uint64_t tail;      /* next free file offset for non-allocated data */
    Elf64_Shdr *shdrs;  /* output section headers */
    size_t shnum;
    size_t region_shndx[HP_REGION_COUNT];
    size_t bss_shndx;
    hp_buf shstr, str, sym;
} hp_elf_out;

static uint64_t hp_elf_file_off(const hp_image *img, uint64_t va)
{
    const hp_segment *s = hp_image_segment_at(img, va);
    return s && va - s->va < s->file_size ? s->file_off + (va - s->va) : 0;
}

/* The input file again, to copy from: only when the image was mapped from
 * img->path (not hp_image_open_mem) and the file there still looks like the
 * mapping (same size, same first page). IN == OUT is fine: the output is
 * renamed over the input only after emit. -1 means copy from the mapping. */
static int hp_elf_open_input(const hp_image *img)
{
    if (!img->priv_map || !img->path)
        return -1;
    int fd = open(img->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    uint8_t head[HP_ELF_PAGE];
    size_t n = img->size < sizeof head ? img->size : sizeof head;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != img->size ||
        pread(fd, head, n, 0) != (ssize_t)n || memcmp(head, img->data, n) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Input bytes [off, off+len) to the same offset of the output, file to
 * file (hp_sys_copy_range: in the kernel when it can); when the file turns
 * out shorter than the mapping, the rest from the mapping (which then
 * faults: cli/signals.c says the input changed). */
static hp_status hp_elf_copy_input(hp_elf_out *o, uint64_t off, uint64_t len)
{
    if (len && o->in_fd >= 0) {
        int64_t n = hp_sys_copy_range(o->in_fd, off, o->out->fd, off, len);
        if (n < 0)
            return hp_sink_fail(o->out);
        if ((uint64_t)n < len) {
            close(o->in_fd);
            o->in_fd = -1;
        }
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return hp_write_at(o->out, o->img->data + off, len, off);
}

/* A patch located in the file. */
typedef struct hp_elf_spot {
    uint64_t off;
    size_t idx; /* into ed->patches; the edit's order decides overlaps */
} hp_elf_spot;

static int hp_elf_spot_by_off(const void *a, const void *b)
{
    const hp_elf_spot *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int hp_elf_spot_by_idx(const void *a, const void *b)
{
    const hp_elf_spot *x = a, *y = b;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The patches by file offset. Patches are in the order the rewriter made
 * them, which need not be by address. */
static hp_status hp_elf_spots(const hp_elf_out *o, hp_elf_spot **out)
{
    *out = NULL;
    if (!o->ed->npatches)
        return HP_OK;
    hp_elf_spot *sp = hp_calloc(o->ed->npatches, sizeof *sp);
    if (!sp)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < o->ed->npatches; i++) {
        const hp_patch *p = &o->ed->patches[i];
        sp[i].off = hp_elf_file_off(o->img, p->va);
        sp[i].idx = i;
        if (!sp[i].off || !hp_image_bytes(o->img, p->va, p->len)) {
            hp_free(sp);
            return HP_ERR_INTERNAL;
        }
    }
    qsort(sp, o->ed->npatches, sizeof *sp, hp_elf_spot_by_off);
    *out = sp;
    return HP_OK;
}

/* The run of dirty pages that starts with spot i: [*start, *end) and the
 * spots [i, *j) in it. A patch that crosses a page boundary pulls the next
 * page in, so no patch is split between runs and runs never overlap. */
static void hp_elf_run(const hp_elf_out *o, const hp_elf_spot *sp, size_t n, size_t i,
                       size_t *j, uint64_t *start, uint64_t *end)
{
    *start = sp[i].off & ~(uint64_t)(HP_ELF_PAGE - 1);
    *end = 0;
    for (*j = i; *j < n; (*j)++) {
        uint64_t off = sp[*j].off, page = off & ~(uint64_t)(HP_ELF_PAGE - 1);
        if (*j > i && off >= *end && (page != *end || *end - *start >= HP_ELF_RUN_MAX))
            break;
        uint64_t e = hp_align_up(off + o->ed->patches[sp[*j].idx].len, HP_ELF_PAGE);
        if (e > *end)
            *end = e;
    }
    if (*end > o->img->size)
        *end = o->img->size;
}

/* One run: the original bytes with its patches applied in edit order (a
 * later patch wins where two overlap, as when each was written in turn). */
static hp_status hp_elf_write_run(hp_elf_out *o, hp_elf_spot *sp, size_t n, uint64_t start,
                                  uint64_t end, hp_buf *buf)
{
    buf->len = 0;
    HP_CHECK(hp_buf_append(buf, o->img->data + start, end - start));
    qsort(sp, n, sizeof *sp, hp_elf_spot_by_idx);
    for (size_t k = 0; k < n; k++) {
        const hp_patch *p = &o->ed->patches[sp[k].idx];
        memcpy(buf->data + (sp[k].off - start), p->bytes, p->len);
    }
    return hp_write_at(o->out, buf->data, buf->len, start);
}

/* The input with every patch applied: clean stretches copied, dirty pages
 * written whole, in file order. */
static hp_status hp_elf_write_input(hp_elf_out *o)
{
    hp_elf_spot *sp;
    HP_CHECK(hp_elf_spots(o, &sp));
    hp_buf buf = {0};
    hp_status s = HP_OK;
    uint64_t done = 0;
    for (size_t i = 0, j; s == HP_OK && i < o->ed->npatches; i = j) {
        uint64_t start, end;
        hp_elf_run(o, sp, o->ed->npatches, i, &j, &start, &end);
        s = hp_elf_copy_input(o, done, start - done);
        if (s == HP_OK)
            s = hp_elf_write_run(o, sp + i, j - i, start, end, &buf);
        done = end;
    }
    if (s == HP_OK)
        s = hp_elf_copy_input(o, done, o->img->size - done);
    hp_buf_free(&buf);
    hp_free(sp);
    return s;
}

/* Clear the CET / BTI bits the patches broke; on top of the patched bytes.
 * AArch64's PAC bit only records how the code was built: nothing enforces
 * it, so it stays. */
static hp_status hp_elf_write_cet(hp_elf_out *o)
{
    hp_machine m = o->img->machine;
    uint32_t clear = (o->ed->removed_landing_pad ? hp_elf_landing_bit(m) : 0);
    if (m == HP_MACH_X86_64 && o->ed->pushed_return)
        clear |= GNU_PROPERTY_X86_FEATURE_1_SHSTK;
    if (clear && o->e->ibt_off) {
        uint32_t bits = hp_rd32(o->img->data + o->e->ibt_off) & ~clear;
        uint8_t w[4];
        hp_wr32(w, bits);
        HP_CHECK(hp_write_at(o->out, w, 4, o->e->ibt_off));
    }
    return HP_OK;
}

static Elf64_Phdr hp_elf_load_phdr(const hp_elf_out *o, int r, uint64_t filesz, uint64_t memsz)
{
    static const uint32_t flags[HP_REGION_COUNT] = {PF_R | PF_X, PF_R, PF_R | PF_W};
    Elf64_Phdr p = {0};
    p.p_type = PT_LOAD;
    p.p_flags = flags[r];
    p.p_offset = o->seg_off[r];
    p.p_vaddr = p.p_paddr = o->e->seg_va[r];
    p.p_filesz = filesz;
    p.p_memsz = memsz;
    p.p_align = o->e->page;
    return p;
}

/* The new program header table: the old entries with PT_PHDR moved, and the
 * new PT_LOADs right after the last old PT_LOAD (keeping them sorted). */
static hp_status hp_elf_write_phdrs(hp_elf_out *o)
{
    hp_elf *e = o->e;
    Elf64_Phdr *ph = hp_calloc(e->new_phnum, sizeof *ph);
    if (!ph)
        return HP_ERR_NOMEM;
    size_t n = 0, table_bytes = e->new_phnum * sizeof *ph;
    const hp_region *text = &o->ed->regions[HP_REGION_TEXT];
    for (size_t i = 0; i < e->eh.e_phnum; i++) {
        ph[n] = e->phdrs[i];
        if (ph[n].p_type == PT_PHDR) {
            ph[n].p_offset = o->seg_off[HP_REGION_TEXT];
            ph[n].p_vaddr = ph[n].p_paddr = e->seg_va[HP_REGION_TEXT];
            ph[n].p_filesz = ph[n].p_memsz = table_bytes;
        }
        n++;
        if ((int)i != e->last_load)
            continue;
        uint64_t text_size = e->phdr_bytes + text->bytes.len;
        ph[n++] = hp_elf_load_phdr(o, HP_REGION_TEXT, text_size, text_size);
        for (int r = HP_REGION_RODATA; r < HP_REGION_COUNT; r++)
            if (o->ed->regions[r].mem_size)
                ph[n++] = hp_elf_load_phdr(o, r, o->ed->regions[r].bytes.len,
                                           o->ed->regions[r].mem_size);
        if (e->rela_bytes) {
            ph[n] = hp_elf_load_phdr(o, HP_REGION_RODATA, e->rela_bytes, e->rela_bytes);
            ph[n].p_vaddr = ph[n].p_paddr = e->rela_va;
            ph[n++].p_offset = e->rela_va - (uint64_t)e->delta;
        }
    }
    hp_status s = n == e->new_phnum ? HP_OK : HP_ERR_INTERNAL;
    if (s == HP_OK)
        s = hp_write_at(o->out, ph, table_bytes, o->seg_off[HP_REGION_TEXT]);
    hp_free(ph);
    return s;
}

/* The value the linker stored at an absolute pointer (its link-time
 * target), which becomes the RELATIVE relocation's addend. */
static uint64_t hp_elf_ptr_value(const hp_edit *ed, uint64_t va)
{
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        const hp_region *rg = &ed->regions[r];
        if (va >= rg->va && va - rg->va + 8 <= rg->bytes.len)
            return hp_rd64(rg->bytes.data + (va - rg->va));
    }
    return 0;
}

static hp_status hp_elf_put_dyn(hp_elf_out *o, uint64_t off, uint64_t val)
{
    uint8_t w[8];
    hp_wr64(w, val);
    return off ? hp_write_at(o->out, w, 8, off) : HP_OK;
}

/* The moved DT_RELA table: new RELATIVE entries first, then the old ones;
 * the dynamic section and the .rela.dyn section header follow it. */
static hp_status hp_elf_write_rela(hp_elf_out *o)
{
    hp_elf *e = o->e;
    const hp_edit *ed = o->ed;
    hp_buf b = {0};
    hp_status s = HP_OK;
    uint32_t rel_type =
        o->img->machine == HP_MACH_ARM64 ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE;
    for (size_t i = 0; s == HP_OK && i < ed->nabs_ptrs; i++) {
        Elf64_Rela r = {ed->abs_ptrs[i], ELF64_R_INFO(0, rel_type),
                        (int64_t)hp_elf_ptr_value(ed, ed->abs_ptrs[i])};
        s = hp_buf_append(&b, &r, sizeof r);
    }
    size_t old_at = b.len;
    if (s == HP_OK)
        s = hp_buf_append(&b, hp_image_bytes(o->img, e->old_rela_va, e->old_rela_size),
                          e->old_rela_size);
    /* The old entries as patched (an addend re-pointed by call-site
     * redirection), like their original place. */
    for (size_t i = 0; s == HP_OK && i < ed->npatches; i++) {
        const hp_patch *p = &ed->patches[i];
        if (p->va >= e->old_rela_va && p->va - e->old_rela_va + p->len <= e->old_rela_size)
            memcpy(b.data + old_at + (p->va - e->old_rela_va), p->bytes, p->len);
    }
    if (s == HP_OK && b.len != e->rela_bytes)
        s = HP_ERR_INTERNAL;
    if (s == HP_OK)
        s = hp_write_at(o->out, b.data, b.len, e->rela_va - (uint64_t)e->delta);
    hp_buf_free(&b);
    HP_CHECK(s);
    HP_CHECK(hp_elf_put_dyn(o, e->dyn_rela_off, e->rela_va));
    HP_CHECK(hp_elf_put_dyn(o, e->dyn_relasz_off, e->rela_bytes));
    if (e->dyn_relacount_off)
        HP_CHECK(hp_elf_put_dyn(o, e->dyn_relacount_off,
                                hp_rd64(o->img->data + e->dyn_relacount_off) + ed->nabs_ptrs));
    return HP_OK;
}

static hp_status hp_elf_write_regions(hp_elf_out *o)
{
    uint64_t end = 0;
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        const hp_region *rg = &o->ed->regions[r];
        if (r != HP_REGION_TEXT && !rg->mem_size)
            continue;
        o->seg_off[r] = o->e->seg_va[r] - (uint64_t)o->e->delta;
        uint64_t off = o->seg_off[r] + (rg->va - o->e->seg_va[r]);
        HP_CHECK(hp_write_at(o->out, rg->bytes.data, rg->bytes.len, off));
        if (off + rg->bytes.len > end)
            end = off + rg->bytes.len;
    }
    if (o->e->rela_bytes) {
        HP_CHECK(hp_elf_write_rela(o));
        end = o->e->rela_va - (uint64_t)o->e->delta + o->e->rela_bytes;
    }
    o->tail = hp_align_up(end, 8);
    return hp_elf_write_phdrs(o);
}

static hp_status hp_elf_add_shdr(hp_elf_out *o, const char *name, const Elf64_Shdr *tmpl)
{
    Elf64_Shdr *n = hp_realloc(o->shdrs, (o->shnum + 1) * sizeof *n);
    if (!n)
        return HP_ERR_NOMEM;
    o->shdrs = n;
    n[o->shnum] = *tmpl;
    n[o->shnum].sh_name = (uint32_t)o->shstr.len;
    o->shnum++;
    return hp_buf_append(&o->shstr, name, strlen(name) + 1);
}

/* Copy non-allocated bytes to the tail of the file; returns their offset. */
static hp_status hp_elf_put_tail(hp_elf_out *o, const void *p, size_t len, uint64_t *off)
{
    *off = o->tail;
    HP_CHECK(hp_write_at(o->out, p, len, o->tail));
    o->tail = hp_align_up(o->tail + len, 8);
    return HP_OK;
}

static hp_status hp_elf_region_shdrs(hp_elf_out *o)
{
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        const hp_region *rg = &o->ed->regions[r];
        if (!rg->mem_size && r != HP_REGION_TEXT)
            continue;
        static const uint64_t flags[HP_REGION_COUNT] = {
            SHF_ALLOC | SHF_EXECINSTR, SHF_ALLOC, SHF_ALLOC | SHF_WRITE};
        Elf64_Shdr sh = {.sh_type = SHT_PROGBITS, .sh_flags = flags[r], .sh_addr = rg->va,
                         .sh_offset = o->seg_off[r] + (rg->va - o->e->seg_va[r]),
                         .sh_size = rg->bytes.len, .sh_addralign = 16};
        o->region_shndx[r] = o->shnum;
        HP_CHECK(hp_elf_add_shdr(o, hp_elf_region_names[r], &sh));
        if (rg->mem_size > rg->bytes.len) {
            Elf64_Shdr bss = {.sh_type = SHT_NOBITS, .sh_flags = SHF_ALLOC | SHF_WRITE,
                              .sh_addr = rg->va + rg->bytes.len,
                              .sh_offset = sh.sh_offset + rg->bytes.len,
                              .sh_size = rg->mem_size - rg->bytes.len, .sh_addralign = 16};
            o->bss_shndx = o->shnum;
            HP_CHECK(hp_elf_add_shdr(o, ".hookpatch.bss", &bss));
        }
    }
    return HP_OK;
}

static size_t hp_elf_shndx_for(const hp_elf_out *o, uint64_t va)
{
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        const hp_region *rg = &o->ed->regions[r];
        if (va >= rg->va && va - rg->va < rg->bytes.len)
            return o->region_shndx[r];
        if (va >= rg->va && va - rg->va < rg->mem_size)
            return o->bss_shndx;
    }
    return o->region_shndx[HP_REGION_TEXT];
}

/* .symtab and .strtab with the new symbols appended (created if absent). */
static hp_status hp_elf_symbols(hp_elf_out *o, int symtab, int strtab)
{
    const hp_image *img = o->img;
    if (symtab > 0) {
        const Elf64_Shdr *st = &o->shdrs[symtab], *ss = &o->shdrs[strtab];
        HP_CHECK(hp_buf_append(&o->sym, img->data + st->sh_offset, st->sh_size));
        HP_CHECK(hp_buf_append(&o->str, img->data + ss->sh_offset, ss->sh_size));
    } else {
        HP_CHECK(hp_buf_append_zeros(&o->sym, sizeof(Elf64_Sym)));
        HP_CHECK(hp_buf_append_zeros(&o->str, 1));
    }
    for (size_t i = 0; i < o->ed->nsyms; i++) {
        const hp_newsym *ns = &o->ed->syms[i];
        Elf64_Sym s = {.st_name = (uint32_t)o->str.len,
                       .st_info = ELF64_ST_INFO(STB_GLOBAL, ns->func ? STT_FUNC : STT_OBJECT),
                       .st_other = STV_HIDDEN,
                       .st_shndx = (uint16_t)hp_elf_shndx_for(o, ns->va),
                       .st_value = ns->va,
                       .st_size = ns->size};
        HP_CHECK(hp_buf_append(&o->str, ns->name, strlen(ns->name) + 1));
        HP_CHECK(hp_buf_append(&o->sym, &s, sizeof s));
    }
    uint64_t str_off, sym_off;
    HP_CHECK(hp_elf_put_tail(o, o->str.data, o->str.len, &str_off));
    HP_CHECK(hp_elf_put_tail(o, o->sym.data, o->sym.len, &sym_off));
    if (symtab < 0) {
        Elf64_Shdr ss = {.sh_type = SHT_STRTAB, .sh_addralign = 1};
        strtab = (int)o->shnum;
        HP_CHECK(hp_elf_add_shdr(o, ".strtab", &ss));
        Elf64_Shdr st = {.sh_type = SHT_SYMTAB, .sh_link = (uint32_t)strtab, .sh_info = 1,
                         .sh_addralign = 8, .sh_entsize = sizeof(Elf64_Sym)};
        symtab = (int)o->shnum;
        HP_CHECK(hp_elf_add_shdr(o, ".symtab", &st));
    }
    o->shdrs[strtab].sh_offset = str_off;
    o->shdrs[strtab].sh_size = o->str.len;
    o->shdrs[symtab].sh_offset = sym_off;
    o->shdrs[symtab].sh_size = o->sym.len;
    return HP_OK;
}

static hp_status hp_elf_write_sections(hp_elf_out *o, Elf64_Ehdr *eh)
{
    const hp_image *img = o->img;
    hp_elf *e = o->e;
    o->shnum = e->shnum;
    o->shdrs = hp_calloc(e->shnum, sizeof *o->shdrs);
    if (!o->shdrs)
        return HP_ERR_NOMEM;
    memcpy(o->shdrs, e->shdrs, e->shnum * sizeof *o->shdrs);
    const Elf64_Shdr *oldstr = &e->shdrs[e->shstrndx];
    HP_CHECK(hp_buf_append(&o->shstr, img->data + oldstr->sh_offset, oldstr->sh_size));
    HP_CHECK(hp_elf_region_shdrs(o));
    for (size_t i = 1; e->rela_bytes && i < e->shnum; i++) {
        Elf64_Shdr *sh = &o->shdrs[i];
        if (sh->sh_type == SHT_RELA && sh->sh_addr == e->old_rela_va) {
            sh->sh_addr = e->rela_va;
            sh->sh_offset = e->rela_va - (uint64_t)e->delta;
            sh->sh_size = e->rela_bytes;
        }
    }
    if (o->ed->info.len) {
        uint64_t off;
        HP_CHECK(hp_elf_put_tail(o, o->ed->info.data, o->ed->info.len, &off));
        Elf64_Shdr sh = {.sh_type = SHT_PROGBITS, .sh_offset = off, .sh_size = o->ed->info.len,
                         .sh_addralign = 1};
        HP_CHECK(hp_elf_add_shdr(o, ".hookpatch.info", &sh));
    }
    int symtab = e->symtab_idx, strtab = symtab > 0 ? (int)e->shdrs[symtab].sh_link : -1;
    HP_CHECK(hp_elf_symbols(o, symtab, strtab));
    /* The name table is written last: every name has been added by now. */
    uint64_t shstr_off;
    HP_CHECK(hp_elf_put_tail(o, o->shstr.data, o->shstr.len, &shstr_off));
    o->shdrs[e->shstrndx].sh_offset = shstr_off;
    o->shdrs[e->shstrndx].sh_size = o->shstr.len;
    if (o->shnum >= SHN_LORESERVE) {
        o->shdrs[0].sh_size = o->shnum;
        eh->e_shnum = 0;
    } else {
        eh->e_shnum = (uint16_t)o->shnum;
    }
    eh->e_shoff = o->tail;
    return hp_elf_put_tail(o, o->shdrs, o->shnum * sizeof *o->shdrs, &eh->e_shoff);
}

hp_status hp_elf_emit(const hp_image *img, const hp_edit *ed, hp_sink *out)
{
    hp_elf_out o = {.img = img, .ed = ed, .e = img->priv, .out = out,
                    .in_fd = hp_elf_open_input(img)};
    Elf64_Ehdr eh = o.e->eh;
    hp_status s = hp_elf_write_input(&o);
    if (o.in_fd >= 0)
        close(o.in_fd);
    if (s == HP_OK)
        s = hp_elf_write_cet(&o);
    if (s == HP_OK)
        s = hp_elf_write_regions(&o);
    if (s == HP_OK && o.e->shdrs)
        s = hp_elf_write_sections(&o, &eh);
    if (s == HP_OK) {
        eh.e_phoff = o.seg_off[HP_REGION_TEXT];
        eh.e_phnum = (uint16_t)o.e->new_phnum;
        s = hp_write_at(out, &eh, sizeof eh, 0);
    }
    if (s == HP_OK && ftruncate(out->fd, (off_t)o.tail) != 0)
        s = hp_sink_fail(out);
    hp_free(o.shdrs);
    hp_buf_free(&o.shstr);
    hp_buf_free(&o.str);
    hp_buf_free(&o.sym);
    return s;
}
