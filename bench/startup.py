#!/usr/bin/env python3
"""Start-up time of an unpatched and a patched command, interleaved.

    startup.py OUT.json RUNS 'UNPATCHED CMD' 'PATCHED CMD'

Runs the two commands alternately (U P, then P U, ...) RUNS times each after
10 warm-up runs of each, timing every run from spawn to exit (wait4), with
stdout and stderr to /dev/null. Interleaving matters on a shared machine:
hyperfine runs every repetition of one command before the other, so a
change of load between the two blocks shows up as a difference. Writes
hyperfine-like JSON: {"results": [{"command": "unpatched", "times": [...]}, ...]}."""
import json
import os
import shlex
import sys
import time


def run_once(argv, env):
    devnull = os.open(os.devnull, os.O_WRONLY)
    fa = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, env, file_actions=fa)
    _, status, _ = os.wait4(pid, 0)
    t1 = time.perf_counter()
    os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"startup.py: {' '.join(argv)} exited with {os.waitstatus_to_exitcode(status)}")
    return t1 - t0


def split(cmd):
    """'env A=B prog args' is allowed: leading NAME=VALUE words after env set the env."""
    argv = shlex.split(cmd)
    env = dict(os.environ)
    if argv[0] == "env":
        argv = argv[1:]
        while argv and "=" in argv[0]:
            k, v = argv.pop(0).split("=", 1)
            env[k] = v
    return argv, env


def main():
    out, runs, cu, cp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    cmds = {"unpatched": split(cu), "patched": split(cp)}
    for _ in range(10):
        for argv, env in cmds.values():
            run_once(argv, env)
    times = {k: [] for k in cmds}
    for i in range(runs):
        order = ["unpatched", "patched"] if i % 2 == 0 else ["patched", "unpatched"]
        for k in order:
            times[k].append(run_once(*cmds[k]))
    with open(out, "w") as f:
        json.dump({"results": [{"command": k, "times": v} for k, v in times.items()]}, f)


if __name__ == "__main__":
    main()
