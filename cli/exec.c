/* exec subcommand: not implemented yet. */
#include "exec.h"

#include <stdio.h>

int hp_cmd_exec(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("hookpatch: error: 'exec' is not available in this build yet\n", stderr);
    return 2;
}
