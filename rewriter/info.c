/* Encode the hookpatch record (see info.h).
 *
 * The record has two lines per hook, about 250 bytes, and is built for every
 * output: 100,000 hooks make 25 MB of text. It is measured first, so the
 * buffer grows once, then written straight into it with a digit table.
 * (A printf per byte and an allocation per line cost 8-14% of a run.) */
#include "info.h"

#include <string.h>

/* At most this many bytes of a range are recorded (sites and patches hold
 * 32). */
#define HP_INFO_HEX_MAX 32
/* "0x" and up to 16 hex digits. */
#define HP_INFO_NUM_MAX 18

/* The longest lines, but for the action and target names:
 * "hook <a> <t> <num> <num> <hex> -> <num>\n" and "site <num> <hex> <hex>\n". */
enum {
    HP_INFO_HOOK_MAX = 5 + 4 + 3 * HP_INFO_NUM_MAX + 2 * HP_INFO_HEX_MAX + 4 + 1,
    HP_INFO_SITE_MAX = 5 + HP_INFO_NUM_MAX + 2 + 4 * HP_INFO_HEX_MAX + 1,
};

static const char hp_info_header[] = "hookpatch-info 1\n";
static const char hp_info_digits[16] = "0123456789abcdef";

static uint8_t *hp_info_str(uint8_t *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

/* As "0x%llx": lowercase, no leading zeros, "0x0" for zero. */
static uint8_t *hp_info_num(uint8_t *w, uint64_t v)
{
    uint8_t tmp[16];
    size_t n = 0;
    do {
        tmp[sizeof tmp - ++n] = (uint8_t)hp_info_digits[v & 15];
        v >>= 4;
    } while (v);
    *w++ = '0';
    *w++ = 'x';
    memcpy(w, tmp + sizeof tmp - n, n);
    return w + n;
}

/* Two lowercase digits per byte, for at most HP_INFO_HEX_MAX bytes. */
static uint8_t *hp_info_hex(uint8_t *w, const uint8_t *p, size_t n)
{
    if (n > HP_INFO_HEX_MAX)
        n = HP_INFO_HEX_MAX;
    for (size_t i = 0; i < n; i++) {
        *w++ = (uint8_t)hp_info_digits[p[i] >> 4];
        *w++ = (uint8_t)hp_info_digits[p[i] & 15];
    }
    return w;
}

static hp_status hp_info_add(size_t *total, size_t n)
{
    if (n > SIZE_MAX - *total)
        return HP_ERR_NOMEM;
    *total += n;
    return HP_OK;
}

/* An upper bound on the record's size. */
static hp_status hp_info_measure(const hp_plan *p, size_t *total)
{
    *total = sizeof hp_info_header - 1;
    for (size_t i = 0; i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        if (h->state != HP_HOOK_PLANNED)
            continue;
        HP_CHECK(hp_info_add(total, HP_INFO_HOOK_MAX));
        HP_CHECK(hp_info_add(total, strlen(hp_action_name(h->req->action))));
        HP_CHECK(hp_info_add(total, strlen(h->target->name)));
    }
    if (p->ed.npatches > SIZE_MAX / HP_INFO_SITE_MAX)
        return HP_ERR_NOMEM;
    return hp_info_add(total, p->ed.npatches * HP_INFO_SITE_MAX);
}

static uint8_t *hp_info_hook(uint8_t *w, const hp_hook *h)
{
    const char *action = hp_action_name(h->req->action);
    w = hp_info_str(w, "hook ", 5);
    w = hp_info_str(w, action, strlen(action));
    *w++ = ' ';
    w = hp_info_str(w, h->target->name, strlen(h->target->name));
    *w++ = ' ';
    w = hp_info_num(w, h->target->va);
    *w++ = ' ';
    w = hp_info_num(w, h->site.patch_va);
    *w++ = ' ';
    w = hp_info_hex(w, h->site.bytes, h->site.steal_len);
    w = hp_info_str(w, " -> ", 4);
    w = hp_info_num(w, h->dest_va);
    *w++ = '\n';
    return w;
}

static uint8_t *hp_info_site(uint8_t *w, const hp_patch *pt)
{
    w = hp_info_str(w, "site ", 5);
    w = hp_info_num(w, pt->va);
    *w++ = ' ';
    w = hp_info_hex(w, pt->orig, pt->len);
    *w++ = ' ';
    w = hp_info_hex(w, pt->bytes, pt->len);
    *w++ = '\n';
    return w;
}

hp_status hp_info_encode(const hp_plan *p, hp_buf *out)
{
    size_t need;
    HP_CHECK(hp_info_measure(p, &need));
    HP_CHECK(hp_info_add(&need, out->len));
    HP_CHECK(hp_grow((void **)&out->data, &out->cap, need, 1));
    uint8_t *w = out->data + out->len;
    w = hp_info_str(w, hp_info_header, sizeof hp_info_header - 1);
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED)
            w = hp_info_hook(w, &p->v[i]);
    for (size_t i = 0; i < p->ed.npatches; i++)
        w = hp_info_site(w, &p->ed.patches[i]);
    out->len = (size_t)(w - out->data);
    return HP_OK;
}
