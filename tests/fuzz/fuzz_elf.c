/* libFuzzer harness for the image readers (every format is probed, so this
 * mostly exercises ELF) and the planner on whatever loads: list every
 * function's hookability, then place and emit a plan to /dev/null. */
#include "rewriter/rewriter.h"
#include "sections/format.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hp_diags d = {0};
    hp_image *img = NULL;
    if (hp_image_open_mem(data, size, "fuzz.bin", &d, &img) == HP_OK) {
        hp_site site;
        for (size_t i = 0; i < img->nsyms && i < 256; i++) {
            if (img->syms[i].kind != HP_SYM_FUNC)
                continue;
            hp_diags why = {0};
            hp_status s = hp_site_analyze(img, &img->syms[i], HP_SITE_COPY | HP_SITE_REDIRECTS,
                                          NULL, &site, &why);
            /* a refusal always says why */
            if (s == HP_ERR_UNHOOKABLE && (why.n != 1 || !why.v[0].msg[0]))
                abort();
            hp_diags_free(&why);
        }
        hp_hook_req req = {.target = "*", .target_kind = HP_TGT_GLOB,
                           .action = HP_ACT_PASSTHROUGH};
        hp_hook_reqs reqs = {.path = "fuzz.toml", .v = &req, .n = 1};
        hp_plan plan;
        hp_options opt = {0};
        if (hp_plan_build(img, &reqs, &opt, &d, &plan) == HP_OK) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                hp_image_emit(img, &plan.ed, fd, NULL);
                close(fd);
            }
        }
        for (size_t i = 0; i < plan.n; i++) /* no hook is skipped silently */
            if (plan.v[i].state == HP_HOOK_SKIPPED && !hp_hook_skip_reason(&plan.v[i], &d)[0])
                abort();
        hp_plan_free(&plan);
    }
    hp_image_close(img);
    hp_diags_free(&d);
    return 0;
}
