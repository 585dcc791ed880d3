/* hook: what a user asked for, one entry per [[hook]] table. cli/rules.c
 * fills these from the rules file; the rewriter resolves and applies them.
 * Locations point into the rules file for diagnostics. */
#ifndef HP_HOOK_H
#define HP_HOOK_H

#include "../base/hp_diag.h"

typedef enum hp_action {
    HP_ACT_REPLACE,     /* replace = "sym": jump to a function in the binary */
    HP_ACT_RETURN,      /* action = "return", value = N: return N in rax */
    HP_ACT_TRAP,        /* action = "trap": ud2 */
    HP_ACT_PASSTHROUGH, /* action = "passthrough": target -> trampoline */
    HP_ACT_OBJECT,      /* object = "x.o", symbol = "s" */
    HP_ACT_SWITCH,      /* action = "switch": a slot picks the original or a
                           function set at run time (rewriter/switch.h) */
    HP_ACT_MARKER,      /* hookpatch's own: never from a rules file; a
                           helper's marker function (hp_hook_req.marker) */
} hp_action;

/* The helpers' marker functions (rewriter/switch.h), whose bodies hookpatch
 * replaces with a stub; HP_MARK_NONE for every user request. */
typedef enum hp_marker { HP_MARK_NONE, HP_MARK_TABLE, HP_MARK_CURG } hp_marker;

typedef enum hp_target_kind { HP_TGT_NAME, HP_TGT_GLOB, HP_TGT_ADDR } hp_target_kind;

typedef struct hp_hook_req {
    hp_loc loc;        /* the [[hook]] header */
    char *target;      /* as written */
    hp_loc target_loc; /* the value of target = */
    hp_target_kind target_kind;
    uint64_t target_va; /* HP_TGT_ADDR */
    hp_action action;
    hp_loc action_loc; /* the value of replace/action/object */
    char *replace;     /* HP_ACT_REPLACE */
    int64_t value;     /* HP_ACT_RETURN */
    char *original;    /* optional: function (or object symbol) bound to the trampoline */
    hp_loc original_loc;
    char *object;      /* HP_ACT_OBJECT: path as written */
    char *object_path; /* resolved relative to the rules file's directory */
    char *symbol;      /* HP_ACT_OBJECT: replacement symbol in the object */
    hp_loc symbol_loc;
    hp_marker marker;  /* HP_ACT_MARKER: which one */
} hp_hook_req;

typedef struct hp_hook_reqs {
    char *path; /* rules file path, owned; locs borrow it */
    hp_hook_req *v;
    size_t n, cap;
} hp_hook_reqs;

void hp_hook_reqs_free(hp_hook_reqs *r);

#endif
