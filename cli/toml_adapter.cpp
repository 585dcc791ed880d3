/* toml_adapter: toml++ -> the plain C tree of toml_adapter.h.
 *
 * Every C++ exception stops at hp_toml_parse: toml::parse_error becomes a
 * positioned error, std::bad_alloc and a failed hp_calloc become "out of
 * memory" (err->nomem), anything else a line-0 error. The C tree is built
 * with hp_calloc so the allocation-failure tests reach it; a half-built tree
 * is owned by a unique_ptr and freed on the way out.
 *
 * toml++ tables are ordered by key name; we re-sort every table by the key's
 * source position so diagnostics come out in file order. */
#include "toml_adapter.h"

extern "C" {
#include "../base/hp_base.h"
}

/* toml++ asserts some parser preconditions that bad input can break: "[[[a]]"
 * trips one in parse_key() and abort()s a debug build, while the release
 * library (built with NDEBUG) goes on to report a proper syntax error. Make
 * header-only and debug builds behave like the release library. */
#ifndef TOML_ASSERT
#define TOML_ASSERT(expr) static_assert(true)
#endif
#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

namespace {

/* A failed hp_calloc: unwinds to hp_toml_parse, which reports it as nomem. */
struct hp_toml_nomem {};

/* Input we refuse although toml++ accepts it. msg is a string literal. */
struct hp_toml_reject {
    const char *msg;
    uint32_t line, col;
};

struct hp_toml_deleter {
    void operator()(hp_tval *v) const { hp_toml_free(v); }
};
using hp_toml_ptr = std::unique_ptr<hp_tval, hp_toml_deleter>;

void *hp_toml_alloc(size_t count, size_t size)
{
    void *p = hp_calloc(count, size);
    if (!p)
        throw hp_toml_nomem{};
    return p;
}

char *hp_toml_strdup(std::string_view s)
{
    char *r = hp_strndup(s.data(), s.size());
    if (!r)
        throw hp_toml_nomem{};
    return r;
}

/* ---- nesting depth
 *
 * toml++ 3.3 bounds nested values (arrays, inline tables: 256) but not the
 * depth of the tree it builds: every part of a dotted key or of a [table]
 * header adds a table. Destroying that tree, converting it
 * (hp_toml_convert) and freeing ours (hp_toml_free) each recurse once per
 * level, so 127 lines of "{a.a.<255 dots>.a = [" inside an array, a tree
 * ~32k levels deep, overflow an 8 MiB stack under ASan. The depth is
 * therefore bounded before toml++ sees the text, by a scan that skips
 * strings and comments (brackets and dots in them do not nest) and counts,
 * from the root at 0:
 *   - a [header] or [[header]]: two levels per part (a part may be an array
 *     of tables: the array, then its last element);
 *   - key = value: one level per part of the key, from the table it is in;
 *   - an array element, scalar or not: one level below its array.
 * That is never less than the depth toml++ builds (checked against Python's
 * tomllib on random documents); headers can make it more. A real rules file is 3 deep ([[hook]], then its keys). The limit is far
 * from that and keeps each recursion short: a file at the limit parses
 * under ASan with a 1 MiB stack (tests/e2e/hostile_text.sh). */
#define HP_TOML_MAX_DEPTH 128
#define HP_TOML_STR_(x) #x
#define HP_TOML_STR(x) HP_TOML_STR_(x)

class hp_toml_depth_scan {
  public:
    hp_toml_depth_scan(const char *text, size_t len) : s_(text), n_(len) {}
    /* Throws hp_toml_reject at the character that goes too deep. */
    void run()
    {
        while (i_ < n_)
            step(next());
    }

  private:
    struct open_value {
        uint32_t depth;
        bool table; /* an inline table, else an array */
    };

    const char *s_;
    size_t n_, i_ = 0;
    uint32_t line_ = 1, col_ = 0; /* of the last character read */
    /* Depths strictly increase from 1, so the stack never overflows. */
    open_value open_[HP_TOML_MAX_DEPTH + 1];
    size_t nopen_ = 0;
    uint32_t table_depth_ = 0; /* of the current [table] */
    uint32_t base_ = 0;        /* depth of the table the current key is in */
    uint32_t dots_ = 0;        /* in the current key or header */
    uint32_t value_depth_ = 1; /* of the next value */
    bool in_key_ = true;       /* keys (or a header) may be read here */
    bool in_header_ = false;

    [[noreturn]] void too_deep() const
    {
        throw hp_toml_reject{"nested too deeply: more than " HP_TOML_STR(HP_TOML_MAX_DEPTH)
                             " levels of tables, arrays and dotted-key parts",
                             line_, col_};
    }

    char peek(size_t k) const { return i_ + k < n_ ? s_[i_ + k] : 0; }

    char next()
    {
        char c = s_[i_++];
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
            col_++; /* count characters, as toml++ does, not UTF-8 bytes */
        if (c == '\n') {
            line_++;
            col_ = 0;
        }
        return c;
    }

    void step(char c)
    {
        if (in_array() && value_depth_ > HP_TOML_MAX_DEPTH && !strchr(" \t\r\n#,]", c))
            too_deep(); /* an element of an array at the limit */
        switch (c) {
        case '\n': newline(); break;
        case '#':
            while (i_ < n_ && s_[i_] != '\n')
                next();
            break;
        case '"':
        case '\'': skip_string(c); break;
        case '.': dot(); break;
        case '=': equals(); break;
        case '[':
        case '{': open(c == '{'); break;
        case ']':
        case '}': close(c); break;
        case ',': comma(); break;
        default: break;
        }
    }

    bool in_array() const { return nopen_ && !open_[nopen_ - 1].table; }

    void newline()
    {
        if (nopen_)
            return; /* arrays span lines; their elements are values */
        in_key_ = true;
        in_header_ = false;
        dots_ = 0;
        base_ = table_depth_;
    }

    void skip_string(char q)
    {
        if (peek(0) == q && peek(1) == q) {
            next();
            next();
            skip_multi_line(q);
            return;
        }
        while (i_ < n_ && s_[i_] != '\n') { /* toml++ reports the missing quote */
            char c = next();
            if (c == '\\' && q == '"' && i_ < n_ && s_[i_] != '\n')
                next();
            else if (c == q)
                return;
        }
    }

    void skip_multi_line(char q)
    {
        while (i_ < n_) {
            char c = next();
            if (c == '\\' && q == '"' && i_ < n_) {
                next();
            } else if (c == q && peek(0) == q && peek(1) == q) {
                next();
                next();
                /* """a""""" is a"" then the delimiter: up to two more quotes */
                for (int k = 0; k < 2 && peek(0) == q; k++)
                    next();
                return;
            }
        }
    }

    void dot()
    {
        if (!in_key_)
            return; /* a float, a time, garbage: not nesting */
        dots_++;
        /* A header's parts count two; a key's parts one, plus its value. */
        uint32_t depth = in_header_ ? 2 * (dots_ + 1) : base_ + dots_ + 1;
        if (depth > HP_TOML_MAX_DEPTH)
            too_deep();
    }

    void equals()
    {
        if (!in_key_ || in_header_)
            return;
        value_depth_ = base_ + dots_ + 1;
        in_key_ = false;
        if (value_depth_ > HP_TOML_MAX_DEPTH)
            too_deep();
    }

    void open(bool table)
    {
        if (!table && !nopen_ && in_key_ && !in_header_) {
            if (peek(0) == '[')
                next(); /* [[array of tables]] */
            in_header_ = true;
            dots_ = 0;
            return;
        }
        uint32_t depth = value_depth_;
        if (nopen_ && depth <= open_[nopen_ - 1].depth)
            depth = open_[nopen_ - 1].depth + 1; /* only on input toml++ refuses */
        if (depth > HP_TOML_MAX_DEPTH)
            too_deep();
        open_[nopen_++] = {depth, table};
        in_key_ = table;
        in_header_ = false;
        dots_ = 0;
        base_ = depth;
        value_depth_ = depth + 1;
    }

    void close(char c)
    {
        if (in_header_ && c == ']') {
            table_depth_ = 2 * (dots_ + 1);
            in_header_ = false;
            in_key_ = false; /* the rest of the line is a comment at most */
            return;
        }
        if (!nopen_)
            return; /* the second ']' of a [[header]], or garbage */
        nopen_--;
        in_key_ = false; /* a ',' or a closing bracket comes next */
        if (nopen_) {
            base_ = open_[nopen_ - 1].depth;
            value_depth_ = base_ + 1;
        }
    }

    void comma()
    {
        if (!nopen_)
            return;
        const open_value &top = open_[nopen_ - 1];
        in_key_ = top.table;
        dots_ = 0;
        base_ = top.depth;
        value_depth_ = top.depth + 1;
    }
};

hp_toml_ptr hp_toml_convert(const toml::node &n);

hp_toml_ptr hp_toml_new(hp_tval_kind kind, const toml::node &n)
{
    hp_toml_ptr v(static_cast<hp_tval *>(hp_toml_alloc(1, sizeof(hp_tval))));
    v->kind = kind;
    v->line = n.source().begin.line;
    v->col = n.source().begin.column;
    return v;
}

bool hp_toml_key_before(const std::pair<const toml::key *, const toml::node *> &a,
                        const std::pair<const toml::key *, const toml::node *> &b)
{
    const toml::source_position &pa = a.first->source().begin, &pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
}

void hp_toml_fill_table(hp_tval *v, const toml::table &t)
{
    std::vector<std::pair<const toml::key *, const toml::node *>> kvs;
    kvs.reserve(t.size());
    for (auto &&[key, node] : t)
        kvs.emplace_back(&key, &node);
    std::stable_sort(kvs.begin(), kvs.end(), hp_toml_key_before);

    v->u.table.kv = static_cast<hp_tkv *>(hp_toml_alloc(kvs.size(), sizeof(hp_tkv)));
    for (const auto &[key, node] : kvs) {
        const toml::source_position &at = key->source().begin;
        /* Keys are NUL-terminated in the C tree; "a\u0000b" would silently
         * compare equal to "a". */
        if (key->str().find('\0') != std::string_view::npos)
            throw hp_toml_reject{"keys containing a NUL character are not supported", at.line,
                                 at.column};
        hp_tkv *e = &v->u.table.kv[v->u.table.n++];
        e->key = hp_toml_strdup(key->str());
        e->line = at.line;
        e->col = at.column;
        e->val = hp_toml_convert(*node).release();
    }
}

void hp_toml_fill_array(hp_tval *v, const toml::array &a)
{
    v->u.array.items = static_cast<hp_tval **>(hp_toml_alloc(a.size(), sizeof(hp_tval *)));
    for (const toml::node &item : a)
        v->u.array.items[v->u.array.n++] = hp_toml_convert(item).release();
}

hp_toml_ptr hp_toml_convert(const toml::node &n)
{
    switch (n.type()) {
    case toml::node_type::table: {
        hp_toml_ptr v = hp_toml_new(HP_TV_TABLE, n);
        hp_toml_fill_table(v.get(), *n.as_table());
        return v;
    }
    case toml::node_type::array: {
        hp_toml_ptr v = hp_toml_new(HP_TV_ARRAY, n);
        hp_toml_fill_array(v.get(), *n.as_array());
        return v;
    }
    case toml::node_type::string: {
        hp_toml_ptr v = hp_toml_new(HP_TV_STRING, n);
        const std::string &s = n.as_string()->get();
        v->u.str.s = hp_toml_strdup(s);
        v->u.str.len = s.size();
        return v;
    }
    case toml::node_type::integer: {
        hp_toml_ptr v = hp_toml_new(HP_TV_INTEGER, n);
        v->u.i = n.as_integer()->get();
        return v;
    }
    case toml::node_type::floating_point: {
        hp_toml_ptr v = hp_toml_new(HP_TV_FLOAT, n);
        v->u.f = n.as_floating_point()->get();
        return v;
    }
    case toml::node_type::boolean: {
        hp_toml_ptr v = hp_toml_new(HP_TV_BOOL, n);
        v->u.b = n.as_boolean()->get() ? 1 : 0;
        return v;
    }
    default: /* date, time, date_time: the schema only needs their type */
        return hp_toml_new(HP_TV_DATETIME, n);
    }
}

/* Copy msg into err->msg without cutting a UTF-8 sequence in half. */
void hp_toml_set_msg(hp_toml_error *err, std::string_view msg)
{
    size_t n = std::min(msg.size(), sizeof err->msg - 1);
    if (n < msg.size())
        while (n > 0 && (static_cast<unsigned char>(msg[n]) & 0xC0) == 0x80)
            n--;
    memcpy(err->msg, msg.data(), n);
    err->msg[n] = 0;
}

void hp_toml_set_error(hp_toml_error *err, std::string_view msg, uint32_t line, uint32_t col)
{
    hp_toml_set_msg(err, msg);
    err->line = line;
    err->col = col;
}

} // namespace

extern "C" hp_tval *hp_toml_parse(const char *text, size_t len, hp_toml_error *err)
{
    memset(err, 0, sizeof *err);
    try {
        std::string_view doc = text ? std::string_view(text, len) : std::string_view();
        hp_toml_depth_scan(doc.data(), doc.size()).run();
        toml::table root = toml::parse(doc);
        return hp_toml_convert(root).release();
    } catch (const toml::parse_error &e) {
        hp_toml_set_error(err, e.description(), e.source().begin.line, e.source().begin.column);
    } catch (const hp_toml_reject &r) {
        hp_toml_set_error(err, r.msg, r.line, r.col);
    } catch (const hp_toml_nomem &) {
        hp_toml_set_error(err, "out of memory", 0, 0);
        err->nomem = 1;
    } catch (const std::bad_alloc &) {
        hp_toml_set_error(err, "out of memory", 0, 0);
        err->nomem = 1;
    } catch (const std::exception &e) {
        hp_toml_set_error(err, e.what(), 0, 0);
    } catch (...) {
        hp_toml_set_error(err, "unexpected error in the TOML parser", 0, 0);
    }
    return nullptr;
}

extern "C" void hp_toml_free(hp_tval *v)
{
    if (!v)
        return;
    if (v->kind == HP_TV_TABLE) {
        for (size_t i = 0; i < v->u.table.n; i++) {
            hp_free(v->u.table.kv[i].key);
            hp_toml_free(v->u.table.kv[i].val);
        }
        hp_free(v->u.table.kv);
    } else if (v->kind == HP_TV_ARRAY) {
        for (size_t i = 0; i < v->u.array.n; i++)
            hp_toml_free(v->u.array.items[i]);
        hp_free(v->u.array.items);
    } else if (v->kind == HP_TV_STRING) {
        hp_free(v->u.str.s);
    }
    hp_free(v);
}

extern "C" const char *hp_toml_kind_name(hp_tval_kind k)
{
    switch (k) {
    case HP_TV_TABLE: return "table";
    case HP_TV_ARRAY: return "array";
    case HP_TV_STRING: return "string";
    case HP_TV_INTEGER: return "integer";
    case HP_TV_FLOAT: return "float";
    case HP_TV_BOOL: return "boolean";
    case HP_TV_DATETIME: return "datetime";
    }
    return "value";
}
