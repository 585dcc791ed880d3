/* Encode the hookpatch record (see info.h). */
#include "info.h"

#include <stdio.h>
#include <string.h>

static hp_status hp_info_hex(hp_buf *b, const uint8_t *p, size_t n)
{
    char hex[2 * 32 + 1];
    for (size_t i = 0; i < n && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", p[i]);
    hex[2 * (n < 32 ? n : 32)] = 0;
    return hp_buf_append(b, hex, strlen(hex));
}

static hp_status hp_info_line(hp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static hp_status hp_info_line(hp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = hp_vasprintf(fmt, ap);
    va_end(ap);
    if (!s)
        return HP_ERR_NOMEM;
    hp_status st = hp_buf_append(b, s, strlen(s));
    hp_free(s);
    return st;
}

hp_status hp_info_encode(const hp_plan *p, hp_buf *out)
{
    HP_CHECK(hp_info_line(out, "hookpatch-info 1\n"));
    for (size_t i = 0; i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        if (h->state != HP_HOOK_PLANNED)
            continue;
        HP_CHECK(hp_info_line(out, "hook %s %s 0x%llx 0x%llx ", hp_action_name(h->req->action),
                              h->target->name, (unsigned long long)h->target->va,
                              (unsigned long long)h->site.patch_va));
        HP_CHECK(hp_info_hex(out, h->site.bytes, h->site.steal_len));
        HP_CHECK(hp_info_line(out, " -> 0x%llx\n", (unsigned long long)h->dest_va));
    }
    for (size_t i = 0; i < p->ed.npatches; i++) {
        const hp_patch *pt = &p->ed.patches[i];
        HP_CHECK(hp_info_line(out, "site 0x%llx ", (unsigned long long)pt->va));
        HP_CHECK(hp_info_hex(out, pt->orig, pt->len));
        HP_CHECK(hp_buf_append(out, " ", 1));
        HP_CHECK(hp_info_hex(out, pt->bytes, pt->len));
        HP_CHECK(hp_buf_append(out, "\n", 1));
    }
    return HP_OK;
}
