/* toml_adapter: the only C++ in hookpatch. It parses TOML with toml++ and
 * hands back a plain C tree with source positions, so the rest of the code
 * stays C. Called only by cli/rules.c. No C++ exception crosses this API. */
#ifndef HP_TOML_ADAPTER_H
#define HP_TOML_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hp_tval_kind {
    HP_TV_TABLE,
    HP_TV_ARRAY,
    HP_TV_STRING,
    HP_TV_INTEGER,
    HP_TV_FLOAT,
    HP_TV_BOOL,
    HP_TV_DATETIME, /* date, time or date-time: kept only to report types */
} hp_tval_kind;

typedef struct hp_tval hp_tval;

/* A key/value pair of a table; key positions point at the key. */
typedef struct hp_tkv {
    char *key;
    uint32_t line, col;
    hp_tval *val;
} hp_tkv;

struct hp_tval {
    hp_tval_kind kind;
    uint32_t line, col; /* where the value starts (table: its header) */
    union {
        struct { hp_tkv *kv; size_t n; } table;   /* in source order */
        struct { hp_tval **items; size_t n; } array;
        struct { char *s; size_t len; } str;      /* NUL-terminated too */
        int64_t i;
        double f;
        int b;
    } u;
};

typedef struct hp_toml_error {
    char msg[256];
    uint32_t line, col;
    int nomem; /* nonzero: allocation failure (line and col are 0) */
} hp_toml_error;

/* Parse text. Returns the root table, or NULL with err filled (syntax errors,
 * or allocation failure with line 0). Free with hp_toml_free. */
hp_tval *hp_toml_parse(const char *text, size_t len, hp_toml_error *err);
void hp_toml_free(hp_tval *root);
/* A human name for a kind ("string", "integer", "table", ...). */
const char *hp_toml_kind_name(hp_tval_kind k);

#ifdef __cplusplus
}
#endif
#endif
