/* Escaping untrusted strings for JSON and for terminals. The unit of work
 * is one valid UTF-8 sequence or one invalid byte; each is either kept as
 * is or replaced by an escape, so every mode is one pass with no state. */
#include "hp_text.h"

#include <stdarg.h>
#include <string.h>

size_t hp_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    uint8_t b = s[0];
    size_t len;
    uint32_t v, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        len = 2, v = b & 0x1fu, min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3, v = b & 0x0fu, min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4, v = b & 0x07u, min = 0x10000;
    } else {
        return 0; /* continuation byte, C0/C1 (always overlong), F5..FF */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Valid characters that still change what a terminal shows: C1 controls
 * (0x9b is CSI on some terminals), the line and paragraph separators and
 * the bidirectional marks and overrides that reorder the text around them. */
static bool hp_text_invisible(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static size_t hp_text_x(char esc[8], uint32_t byte)
{
    static const char hex[] = "0123456789abcdef";
    esc[0] = '\\', esc[1] = 'x', esc[2] = hex[byte >> 4 & 15], esc[3] = hex[byte & 15];
    return 4;
}

static size_t hp_text_u(char esc[8], uint32_t cp)
{
    static const char hex[] = "0123456789abcdef";
    esc[0] = '\\', esc[1] = 'u';
    for (int i = 0; i < 4; i++)
        esc[2 + i] = hex[cp >> (12 - 4 * i) & 15];
    return 6;
}

/* The unit at s[0..n), n > 0: its length in *len; returns the length of its
 * escape, written to esc, or 0 when it is kept as is. */
static size_t hp_text_unit(const uint8_t *s, size_t n, hp_text_mode m, size_t *len,
                           char esc[8])
{
    uint32_t cp;
    *len = hp_utf8_decode(s, n, &cp);
    if (!*len) {
        *len = 1;
        return m == HP_TEXT_JSON_DOC ? hp_text_u(esc, 0xfffd) : hp_text_x(esc, s[0]);
    }
    if (m == HP_TEXT_UTF8)
        return 0;
    if (m == HP_TEXT_TERMINAL && (cp < 0x20 || cp == 0x7f))
        return hp_text_x(esc, cp);
    if (cp == 0x7f || hp_text_invisible(cp))
        return hp_text_u(esc, cp);
    return 0;
}

size_t hp_text_escape_buf(const char *s, size_t n, hp_text_mode m, char *out)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t w = 0, len;
    char esc[8];
    for (size_t i = 0; i < n; i += len) {
        size_t e = hp_text_unit(p + i, n - i, m, &len, esc);
        if (out)
            memcpy(out + w, e ? esc : s + i, e ? e : len);
        w += e ? e : len;
    }
    if (out)
        out[w] = 0;
    return w;
}

bool hp_text_is_clean(const char *s, hp_text_mode m)
{
    size_t i = 0;
    while (s[i] >= 0x20 && s[i] < 0x7f) /* the common case: printable ASCII */
        i++;
    if (!s[i])
        return true;
    size_t n = i + strlen(s + i);
    /* Every escape is longer than what it replaces. */
    return hp_text_escape_buf(s + i, n - i, m, NULL) == n - i;
}

char *hp_text_escape(const char *s, hp_text_mode m)
{
    size_t n = strlen(s);
    size_t len = hp_text_escape_buf(s, n, m, NULL);
    char *r = hp_malloc(len + 1);
    if (r)
        hp_text_escape_buf(s, n, m, r);
    return r;
}

void hp_text_write(const char *s, size_t n, hp_text_mode m, FILE *out)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t run = 0, len; /* start of the bytes kept but not yet written */
    char esc[8];
    for (size_t i = 0; i < n; i += len) {
        size_t e = hp_text_unit(p + i, n - i, m, &len, esc);
        if (!e)
            continue;
        fwrite(s + run, 1, i - run, out);
        fwrite(esc, 1, e, out);
        run = i + len;
    }
    fwrite(s + run, 1, n - run, out);
}

void hp_text_fputs(const char *s, hp_text_mode m, FILE *out)
{
    hp_text_write(s, strlen(s), m, out);
}

void hp_text_fprintf(FILE *out, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *big = NULL;
    if ((size_t)n >= sizeof small) {
        va_start(ap, fmt);
        big = hp_vasprintf(fmt, ap);
        va_end(ap);
    }
    /* Out of memory: the truncated text is still better than none. */
    const char *s = big ? big : small;
    hp_text_write(s, big ? (size_t)n : strlen(small), HP_TEXT_TERMINAL, out);
    hp_free(big);
}
