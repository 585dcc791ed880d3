/* exec: `hookpatch exec [--runner CMD] RULES -- BINARY [ARGS...]`, the `go test -exec`
 * workflow: patch BINARY into a temporary file next to it, run it with the
 * arguments, pass through stdio, exit status and signals, remove it. */
#ifndef HP_EXEC_H
#define HP_EXEC_H

int hp_cmd_exec(int argc, char **argv);

#endif
