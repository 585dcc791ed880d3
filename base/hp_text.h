/* hp_text: make strings from untrusted input safe to print. Symbol, section
 * and file names come from files anyone can craft: they may hold bytes that
 * are not UTF-8 (a JSON document must be UTF-8) or control characters (an
 * ESC sequence reprograms the terminal that shows it). Every printer goes
 * through here: the diagnostics (hp_diag.c) and cli/report.c. */
#ifndef HP_TEXT_H
#define HP_TEXT_H

#include "hp_base.h"

#include <stdio.h>

typedef enum hp_text_mode {
    /* A string for a JSON writer: each byte that is not part of a valid
     * UTF-8 sequence becomes the four characters \xNN; valid text is kept,
     * control characters too (the JSON writer escapes those). */
    HP_TEXT_UTF8,
    /* A string for a terminal: invalid bytes, C0 controls (newline and tab
     * included) and DEL become \xNN; C1 controls, bidirectional overrides
     * and line/paragraph separators become \uXXXX. Printable text, UTF-8
     * included, is kept. Backslashes are not escaped: the result is for
     * people to read, not to parse back. */
    HP_TEXT_TERMINAL,
    /* A whole document a JSON writer produced (control characters inside
     * strings already escaped): DEL, C1 controls, bidirectional overrides
     * and separators become \uXXXX escapes and any invalid byte \ufffd, so
     * the document stays valid JSON and is safe on a terminal. Structural
     * whitespace is kept. */
    HP_TEXT_JSON_DOC,
} hp_text_mode;

/* Decode the UTF-8 sequence at s[0..n): its length (1-4) with *cp set, or
 * 0 when it is not valid (overlong, surrogate, above U+10FFFF, truncated,
 * a stray continuation byte). */
size_t hp_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* Escape s[0..n) as mode m says into out (NUL-terminated), or only measure
 * when out is NULL. Returns the length of the result without its NUL; the
 * caller supplies at least that plus one byte. */
size_t hp_text_escape_buf(const char *s, size_t n, hp_text_mode m, char *out);
/* True when s needs no escaping in mode m. */
bool hp_text_is_clean(const char *s, hp_text_mode m);
/* An escaped copy of s (hp_malloc'd); NULL on allocation failure. */
char *hp_text_escape(const char *s, hp_text_mode m);
/* Write s[0..n), escaped as mode m says, to out. Allocates nothing. */
void hp_text_write(const char *s, size_t n, hp_text_mode m, FILE *out);
void hp_text_fputs(const char *s, hp_text_mode m, FILE *out);
/* printf to out with the whole formatted text escaped for a terminal
 * (HP_TEXT_TERMINAL): any newline must be written separately. */
void hp_text_fprintf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
