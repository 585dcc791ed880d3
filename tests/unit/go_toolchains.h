/* The Go toolchains the unit tests build their Go fixtures with: the list
 * tests/e2e/lib.sh's go_toolchains prints (HP_GO_LIST replaces it), so unit
 * and end-to-end tests cover the same versions. A test file lists its
 * Go-dependent tests apart; tgo_run runs each once per toolchain, named
 * "go1.26: test_x", with the toolchain as its state (NULL: none installed).
 * Header-only: each test program is one .c file. */
#ifndef HP_TESTS_UNIT_GO_TOOLCHAINS_H
#define HP_TESTS_UNIT_GO_TOOLCHAINS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HP_SOURCE_DIR
#error "HP_SOURCE_DIR must name the source tree"
#endif
#ifndef HP_BINARY_DIR
#error "HP_BINARY_DIR must name the build tree"
#endif

enum { TGO_MAX = 8 };

typedef struct tgo {
    char label[16];  /* "go1.26" */
    char path[512];  /* the go binary */
    /* A command prefix that makes `go` this toolchain, with no GOROOT from
     * outside, no toolchain download and the version's own build cache
     * ($HP_GOCACHE/LABEL, else the build tree's gocache/LABEL, as in e2e). */
    char env[1536];
} tgo;

static tgo tgo_all[TGO_MAX];
static size_t tgo_count;

/* Fill tgo_all from go_toolchains; returns how many there are. */
static inline size_t tgo_discover(void)
{
    tgo_count = 0;
    FILE *p = popen("bash -c '. \"$1\" && go_toolchains' tgo " HP_SOURCE_DIR "/tests/e2e/lib.sh",
                     "r");
    if (!p)
        return 0;
    const char *root = getenv("HP_GOCACHE");
    if (!root || !*root)
        root = HP_BINARY_DIR "/gocache";
    char line[1024];
    while (tgo_count < TGO_MAX && fgets(line, sizeof line, p)) {
        tgo *g = &tgo_all[tgo_count];
        line[strcspn(line, "\n")] = 0;
        char *sp = strchr(line, ' ');
        if (!sp || (size_t)(sp - line) >= sizeof g->label || strlen(sp + 1) >= sizeof g->path ||
            strchr(line, '\'') || strchr(root, '\''))
            continue;
        *sp = 0;
        const char *path = sp + 1, *slash = strrchr(path, '/');
        int dir = slash ? (int)(slash - path) : 1;
        int n = snprintf(g->env, sizeof g->env,
                         "env -u GOROOT PATH='%.*s':\"$PATH\" GOTOOLCHAIN=local GOCACHE='%s/%s' ",
                         dir, slash ? path : ".", root, line);
        strcpy(g->label, line);
        strcpy(g->path, path);
        if (n > 0 && (size_t)n < sizeof g->env)
            tgo_count++;
    }
    pclose(p);
    return tgo_count;
}

/* Run `tests` once, then every test of `per_go` once per toolchain (once,
 * with a NULL state, when there is none: those tests skip). */
static inline int tgo_run(const char *group, const struct CMUnitTest *tests, size_t ntests,
                          const struct CMUnitTest *per_go, size_t nper, CMFixtureFunction setup,
                          CMFixtureFunction teardown)
{
    size_t ngo = tgo_discover();
    size_t rounds = ngo ? ngo : 1, n = 0;
    struct CMUnitTest *all = calloc(ntests + rounds * nper, sizeof *all);
    if (!all)
        return 1;
    for (size_t i = 0; i < ntests; i++)
        all[n++] = tests[i];
    for (size_t r = 0; r < rounds; r++)
        for (size_t i = 0; i < nper; i++) {
            all[n] = per_go[i];
            if (ngo) {
                size_t len = strlen(per_go[i].name) + sizeof tgo_all[r].label + 2;
                char *name = malloc(len);
                if (!name)
                    return 1;
                snprintf(name, len, "%.15s: %s", tgo_all[r].label, per_go[i].name);
                all[n].name = name;
                all[n].initial_state = &tgo_all[r];
            }
            n++;
        }
    int failed = _cmocka_run_group_tests(group, all, n, setup, teardown);
    for (size_t i = ntests; ngo && i < n; i++)
        free((char *)all[i].name);
    free(all);
    return failed;
}

#endif
