#!/usr/bin/env bash
# Files and processes that are not what hookpatch expects (issue 13).
#
# OUT: a device, a FIFO or a directory is refused and left untouched (never
# replaced by a regular file, never opened, so a FIFO cannot hang us); a
# symbolic link, or a chain of them, stays a link while the file at its end
# is replaced atomically (new inode there, same link inode); a dangling link
# gets its target created; IN == OUT through a link works; setuid, setgid
# and sticky bits are dropped from the output mode. A write past `ulimit -f`
# fails with "File too large" and a full file system with "No space left on
# device" (a tmpfs or a loop-mounted ext2 filled to the brim), each with an
# existing OUT unchanged and no temporary left. A run started with SIGHUP
# ignored (nohup) survives a SIGHUP. IN or RULES being a FIFO or a
# directory is an error, without blocking. IN truncated by another process
# during the run, while it is read and while the output is written, gives an
# error naming IN, not a SIGBUS: the run is frozen with SIGSTOP at the point
# wanted (IN mapped, per /proc/PID/maps; or the temporary file present),
# IN is truncated, the run resumes, so the window is hit every time.
#
# `hookpatch exec`: a ^C typed at a terminal (a pty from python's pty
# module) reaches the child once, ^Z stops hookpatch and the child and so
# does `kill -TSTP` of hookpatch, `kill -INT` of hookpatch is forwarded once,
# a binary without execute permission exits 126 and a missing one 127, a
# name without a slash is found in PATH as execvp would, and the child gets
# the signal dispositions hookpatch inherited (SIG_IGN stays ignored, the
# SIGXFSZ hookpatch ignores for itself is default again).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

W=$HP_WORK
CC=gcc
command -v gcc >/dev/null || CC=clang

cat >"$W/subject.c" <<'EOF'
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) int answer(void) { return 41; }

static volatile sig_atomic_t nint;
static void on_int(int sig) { (void)sig; nint++; }

static const char *disp(int sig)
{
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    return sa.sa_handler == SIG_IGN ? "ign" : sa.sa_handler == SIG_DFL ? "dfl" : "handler";
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "disp")) {
        printf("INT=%s HUP=%s XFSZ=%s\n", disp(SIGINT), disp(SIGHUP), disp(SIGXFSZ));
        return 0;
    }
    if (!strcmp(mode, "count")) {
        /* Count SIGINTs: wait for the first, then long enough for a second. */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_int;
        sigaction(SIGINT, &sa, NULL);
        printf("ready\n");
        fflush(stdout);
        for (int i = 0; i < 1000 && !nint; i++)
            usleep(10000);
        usleep(700000);
        printf("sigint=%d answer=%d\n", (int)nint, answer());
        return 0;
    }
    printf("answer=%d\n", answer());
    return 0;
}
EOF
if ! $CC -O0 -o "$W/prog" "$W/subject.c" >"$W/build.log" 2>&1; then
    fail "build the subject" "$(cat "$W/build.log")"
    e2e_finish
fi
IN=$W/prog
IN_SHA=$(sha "$IN")
printf '[[hook]]\ntarget = "answer"\naction = "return"\nvalue = 42\n' >"$W/rules.toml"
printf '[[hook]]\ntarget = "*"\naction = "passthrough"\n' >"$W/all.toml"

# hp_quick ARGS...: hp with a 10 s limit, for cases that used to hang
# (timeout's 124 then shows in HP_RC).
hp_quick()
{
    local e
    e=$(mktemp "$HP_WORK/.hp-err.XXXXXX")
    HP_RC=0
    timeout 10 "$HOOKPATCH" "$@" >/dev/null 2>"$e" </dev/null || HP_RC=$?
    HP_ERR=$(cat "$e")
    rm -f "$e"
}

# patched FILE: FILE runs and prints the hooked answer.
patched() { [[ $("$1" 2>/dev/null) == "answer=42" ]]; }
no_temps() { [[ -z $(temp_files "$1") ]]; }
ino() { stat -c %i "$1"; }
lino() { stat -c %i -- "$1"; } # of the link itself (stat does not follow)

# ---------------------------------------------------------------- OUT kinds
# A copy of /dev/null (same device numbers) that the test may lose. Without
# mknod the real /dev/null is used only when we are not root: a regression
# could not replace it then, while as root it would break the machine.
if mknod "$W/null" c 1 3 2>/dev/null; then
    NULLDEV=$W/null
elif [[ $(id -u) -ne 0 ]]; then
    NULLDEV=/dev/null
else
    NULLDEV=
fi
if [[ -n $NULLDEV ]]; then
    hp "$IN" "$NULLDEV" "$W/rules.toml"
    check_eq "OUT is a character device: refused, still the same device" \
        "1|hookpatch: error: $NULLDEV: is a character device, not a regular file: refusing to replace it|character special file 1:3" \
        "$HP_RC|$HP_ERR|$(stat -c '%F %t:%T' "$NULLDEV")"
    check_true "OUT is a character device: no temporary" "$(temp_files "$(dirname "$NULLDEV")")" \
        no_temps "$(dirname "$NULLDEV")"
else
    skip "OUT is a character device" "root without mknod: no safe device to try"
fi

mkfifo "$W/fifo-out"
hp_quick "$IN" "$W/fifo-out" "$W/rules.toml"
check_eq "OUT is a FIFO: refused without opening it, still a FIFO" \
    "1|hookpatch: error: $W/fifo-out: is a FIFO, not a regular file: refusing to replace it|fifo" \
    "$HP_RC|$HP_ERR|$(stat -c %F "$W/fifo-out")"

mkdir -p "$W/dir-out/keep"
hp "$IN" "$W/dir-out" "$W/rules.toml"
check_eq "OUT is a directory: refused, contents kept" \
    "1|hookpatch: error: $W/dir-out: is a directory, not a regular file: refusing to replace it|yes" \
    "$HP_RC|$HP_ERR|$([[ -d $W/dir-out/keep ]] && echo yes)"

ln -s fifo-out "$W/link-to-fifo"
hp_quick "$IN" "$W/link-to-fifo" "$W/rules.toml"
check_eq "OUT is a link to a FIFO: refused, both kept" "1|yes" \
    "$HP_RC|$([[ -L $W/link-to-fifo && -p $W/fifo-out && $HP_ERR == *"which is not a regular file: refusing to replace it" ]] && echo yes)"
check_true "refused OUTs: no temporary" "$(temp_files "$W")" no_temps "$W"

# ---------------------------------------------------------------- symbolic links
echo old >"$W/target"
ln -s target "$W/link"
link_ino=$(lino "$W/link") target_ino=$(ino "$W/target")
hp "$IN" "$W/link" "$W/rules.toml"
check_eq "OUT is a symlink: exit 0, still a link to the same name" "0|yes|target" \
    "$HP_RC|$([[ -L $W/link && $(lino "$W/link") == "$link_ino" ]] && echo yes)|$(readlink "$W/link")"
check_true "OUT is a symlink: the target was replaced (new inode) and runs patched" \
    "inode $target_ino -> $(ino "$W/target")" \
    bash -c '[[ $(stat -c %i "$1") != "$2" && -f $1 && ! -L $1 ]] && [[ $("$1") == answer=42 ]]' _ "$W/target" "$target_ino"
check_true "OUT is a symlink: no temporary" "$(temp_files "$W")" no_temps "$W"

# A chain with relative targets, each relative to its own link's directory.
mkdir -p "$W/sub"
cp "$IN" "$W/chain-target"
ln -s ../chain-target "$W/sub/c2"
ln -s sub/c2 "$W/c1"
c1=$(lino "$W/c1") c2=$(lino "$W/sub/c2") ct=$(ino "$W/chain-target")
hp "$IN" "$W/c1" "$W/rules.toml"
check_eq "chain of symlinks: both links kept, the end file replaced and patched" "0|yes|yes|yes" \
    "$HP_RC|$([[ -L $W/c1 && -L $W/sub/c2 && $(lino "$W/c1") == "$c1" && $(lino "$W/sub/c2") == "$c2" ]] && echo yes)|$([[ $(ino "$W/chain-target") != "$ct" ]] && echo yes)|$(patched "$W/chain-target" && echo yes)"
check_true "chain of symlinks: no temporary anywhere" "" bash -c '[[ -z $(find "$1" -name ".*.hookpatch-*") ]]' _ "$W"

ln -s made-by-hookpatch "$W/dangling"
hp "$IN" "$W/dangling" "$W/rules.toml"
check_eq "dangling symlink: the target is created, the link kept" "0|yes|yes" \
    "$HP_RC|$([[ -L $W/dangling ]] && echo yes)|$(patched "$W/made-by-hookpatch" && echo yes)"

cp "$IN" "$W/self"
ln -s self "$W/self-link"
hp "$W/self-link" "$W/self-link" "$W/rules.toml"
check_eq "IN == OUT through a symlink: link kept, file patched" "0|yes|yes" \
    "$HP_RC|$([[ -L $W/self-link && $(readlink "$W/self-link") == self ]] && echo yes)|$(patched "$W/self" && echo yes)"
cp "$IN" "$W/same"
hp "$W/same" "$W/same" "$W/rules.toml"
check_eq "IN == OUT: patched in place" "0|yes" "$HP_RC|$(patched "$W/same" && echo yes)"

# ---------------------------------------------------------------- mode bits
for m in 6755 4750 2711 1755; do
    cp "$IN" "$W/mode-in"
    chmod "$m" "$W/mode-in"
    hp "$W/mode-in" "$W/mode-out" "$W/rules.toml"
    want=$(printf '%o' $((8#$m & 8#777)))
    check_eq "input mode $m: output mode $want (no setuid/setgid/sticky)" "0 $want" "$HP_RC $(stat -c %a "$W/mode-out")"
    rm -f "$W/mode-out"
done

# ---------------------------------------------------------------- write failures
echo precious >"$W/kept"
size_kib=$(($(stat -c %s "$IN") / 1024))
limit=$((size_kib / 2 > 1 ? size_kib / 2 : 1))
rc=0
err=$( (ulimit -f "$limit"; exec "$HOOKPATCH" "$IN" "$W/kept" "$W/rules.toml") 2>&1) || rc=$?
check_eq "ulimit -f: exit 1 naming 'File too large', not killed by SIGXFSZ" \
    "1|hookpatch: error: $W/kept: writing failed: File too large" "$rc|$err"
check_eq "ulimit -f: OUT unchanged, no temporary" "precious|" "$(cat "$W/kept")|$(temp_files "$W")"

# A small file system, filled up.
MNT=$(mktemp -d /tmp/hp-hostile-io.XXXXXX)
mounted=
loopimg=
cleanup_mount()
{
    [[ -n $mounted ]] && umount "$MNT" 2>/dev/null || true
    rmdir "$MNT" 2>/dev/null || true
    [[ -n $loopimg ]] && rm -f "$loopimg" || true
}
trap cleanup_mount EXIT
if mount -t tmpfs -o size=256k tmpfs "$MNT" 2>/dev/null; then
    mounted=tmpfs
else
    loopimg=$W/fs.img
    if dd if=/dev/zero of="$loopimg" bs=1k count=1024 status=none &&
        mkfs.ext2 -q -F "$loopimg" >/dev/null 2>&1 && mount -o loop "$loopimg" "$MNT" 2>/dev/null; then
        mounted=ext2
    fi
fi
if [[ -n $mounted ]]; then
    echo precious >"$MNT/out"
    dd if=/dev/zero of="$MNT/filler" bs=4k status=none 2>/dev/null || true
    hp "$IN" "$MNT/out" "$W/rules.toml"
    check_eq "full file system ($mounted): exit 1 naming 'No space left on device'" \
        "1|hookpatch: error: $MNT/out: writing failed: No space left on device" "$HP_RC|$HP_ERR"
    check_eq "full file system: OUT unchanged, no temporary" "precious|" "$(cat "$MNT/out")|$(temp_files "$MNT")"
else
    skip "full file system" "cannot mount a tmpfs or a loop device here (not root?)"
fi
cleanup_mount
trap - EXIT

# ---------------------------------------------------------------- IN and RULES kinds
mkfifo "$W/fifo-in"
hp_quick "$W/fifo-in" "$W/o" "$W/rules.toml"
check_eq "IN is a FIFO: error at once, no hang" \
    "1|hookpatch: error: $W/fifo-in: not a regular file (a FIFO)" "$HP_RC|$HP_ERR"
hp_quick "$IN" "$W/o" "$W/fifo-in"
check_eq "RULES is a FIFO: error at once, no hang" \
    "1|hookpatch: error: cannot read rules file '$W/fifo-in': not a regular file (a FIFO)" "$HP_RC|$HP_ERR"
hp "$W/sub" "$W/o" "$W/rules.toml"
check_eq "IN is a directory: clear error" \
    "1|hookpatch: error: $W/sub: not a regular file (a directory)" "$HP_RC|$HP_ERR"
hp "$IN" "$W/o" "$W/sub"
check_eq "RULES is a directory: clear error" \
    "1|hookpatch: error: cannot read rules file '$W/sub': not a regular file (a directory)" "$HP_RC|$HP_ERR"
hp_quick list "$W/fifo-in"
check_eq "list: IN is a FIFO: error, no hang" "1|hookpatch: error: $W/fifo-in: not a regular file (a FIFO)" "$HP_RC|$HP_ERR"
check_true "IN and RULES refusals: nothing written" "" bash -c '[[ ! -e $1/o ]]' _ "$W"
check_eq "the input was never modified" "$IN_SHA" "$(sha "$IN")"

# ---------------------------------------------------------------- long runs
# A big input keeps hookpatch busy long enough to stop it mid-run.
BIG=
for f in /usr/lib/x86_64-linux-gnu/libLLVM-14.so.1 /usr/lib/x86_64-linux-gnu/libLLVM*.so* /usr/lib/libLLVM*.so*; do
    if [[ -f $f ]]; then
        BIG=$f
        break
    fi
done

# stop_when PID TEST...: poll until TEST succeeds, then SIGSTOP PID. Succeeds
# only when PID is then stopped mid-run (IN still mapped): not finished.
stop_when()
{
    local pid=$1
    shift
    while kill -0 "$pid" 2>/dev/null; do
        if "$@"; then
            kill -STOP "$pid" 2>/dev/null || return 1
            grep -qF "$W/big-in.so" "/proc/$pid/maps" 2>/dev/null && return 0
            kill -CONT "$pid" 2>/dev/null
            return 1
        fi
    done
    return 1
}
mapped() { grep -qF "$W/big-in.so" "/proc/$1/maps" 2>/dev/null; }
temp_exists() { compgen -G "$W/.big-out.so.hookpatch-*" >/dev/null; }

if [[ -z $BIG ]]; then
    skip "SIGHUP under nohup" "no big shared library (libLLVM) to keep hookpatch busy"
    skip "IN truncated during the run" "no big shared library (libLLVM) to keep hookpatch busy"
else
    cp -L "$BIG" "$W/big-in.so"
    result=
    for attempt in 1 2 3 4 5; do
        rm -f "$W/big-out.so"
        (trap '' HUP; exec "$HOOKPATCH" -q --no-fsync "$W/big-in.so" "$W/big-out.so" "$W/all.toml") \
            >"$W/hup.log" 2>&1 &
        pid=$!
        caught=no
        if stop_when "$pid" mapped "$pid"; then
            kill -HUP "$pid"
            kill -CONT "$pid"
            caught=yes
        fi
        rc=0
        wait "$pid" || rc=$?
        if [[ $caught == yes ]]; then
            result="$rc|$([[ -f $W/big-out.so ]] && echo written || true)"
            break
        fi
    done
    check_eq "SIGHUP to a run started with SIGHUP ignored (nohup): it completes" "0|written" "$result"
    rm -f "$W/big-out.so"

    # phase NAME TEST: truncate IN while hookpatch is stopped once TEST holds.
    truncated_run()
    {
        local name=$1 test=$2 attempt pid rc out=
        for attempt in 1 2 3 4 5; do
            cp -L "$BIG" "$W/big-in.so"
            rm -f "$W/big-out.so"
            "$HOOKPATCH" -q --no-fsync "$W/big-in.so" "$W/big-out.so" "$W/all.toml" >"$W/trunc.log" 2>&1 &
            pid=$!
            local caught=no
            if stop_when "$pid" "$test" "$pid"; then
                truncate -s 4096 "$W/big-in.so"
                kill -CONT "$pid"
                caught=yes
            fi
            rc=0
            wait "$pid" || rc=$?
            if [[ $caught == yes ]]; then
                out="$rc|$(cat "$W/trunc.log")|$(temp_files "$W")|$([[ -e $W/big-out.so ]] && echo OUT-exists || true)"
                break
            fi
        done
        check_eq "IN truncated while $name: exit 1 with an error, not SIGBUS; no output, no temporary" \
            "1|hookpatch: error: $W/big-in.so: the file changed size while hookpatch was reading it||" "$out"
    }
    truncated_run "it is read" mapped
    truncated_run "the output is written" temp_exists
    rm -f "$W/big-in.so" "$W/big-out.so"
fi

# ---------------------------------------------------------------- hookpatch exec
# Run through python: a background job of a script has SIGINT and SIGQUIT
# ignored, and hookpatch exec rightly keeps them so; these cases want them
# at their defaults.
# python ignores SIGPIPE and SIGXFSZ for itself: put those back too. exec:
# the background job's pid is hookpatch's.
launch() { exec "$PY" -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(s, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$@"; }

cat >"$W/at_terminal.py" <<'EOF'
# at_terminal.py KEYS ARGV...: run ARGV at a new pty, in a process group of
# its own that is the terminal's foreground group (as a shell with job
# control runs a command). Once the output says "ready", for each key of
# KEYS: "c" types ^C; "z" types ^Z; "t" sends SIGTSTP to ARGV's process
# alone (kill PID); "g" sends SIGCONT to its process group (as `fg` does).
# After z, t and g, it notes whether ARGV's process and its children are
# stopped. Prints those notes, the output (no CRs) and the exit code.
import os, pty, select, signal, sys, time
keys, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(s, signal.SIG_DFL)
    # The session leader stays, so the job's process group is not orphaned
    # (the kernel discards a ^Z the terminal sends to an orphaned group).
    job = os.fork()
    if job == 0:
        os.setpgid(0, 0)
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.tcsetpgrp(0, os.getpid())
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)
        os.execv(argv[0], argv)
    while True:
        _, st = os.waitpid(job, 0)
        if os.WIFEXITED(st):
            os._exit(os.WEXITSTATUS(st))
        if os.WIFSIGNALED(st):
            os._exit(128 + os.WTERMSIG(st))
out = b""
def pump(seconds):
    global out
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            out += chunk
def field(p, i):
    return open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()[i]
def stopped(p):
    try:
        return field(p, 0) == "T"
    except OSError:
        return False
def children(p):
    kids = []
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and int(field(int(d), 1)) == p:
                kids.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return kids
deadline = time.time() + 60
while b"ready" not in out and time.time() < deadline:
    pump(0.1)
job = os.tcgetpgrp(fd)  # the job's process group; its leader is ARGV
notes = []
for k in keys:
    if k == "c":
        os.write(fd, b"\x03")
    elif k == "z":
        os.write(fd, b"\x1a")
    elif k == "t":
        os.kill(job, signal.SIGTSTP)
    elif k == "g":
        os.killpg(job, signal.SIGCONT)
    # Wait (5 s at most, the machine may be busy) for the state the key
    # should bring about, then note the state there is.
    want = k in "zt"
    for _ in range(50):
        pump(0.1)
        procs = [job] + children(job)
        if k not in "ztg" or all(stopped(p) == want for p in procs):
            break
    if k in "ztg":
        notes.append("%s:%s" % (k, ",".join(
            "stopped" if stopped(p) else "running" for p in procs)))
pump(3)
_, st = os.waitpid(pid, 0)
print(" ".join(notes))
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
print("rc=%d" % os.waitstatus_to_exitcode(st))
EOF
got=$(timeout 90 "$PY" "$W/at_terminal.py" c "$HOOKPATCH" exec "$W/rules.toml" -- "$IN" count 2>&1 || true)
check_eq "exec: ^C at a terminal reaches the child once" "sigint=1 answer=42|rc=0" \
    "$(grep -o 'sigint=.*' <<<"$got" | head -1)|$(grep -o 'rc=.*' <<<"$got" | tail -1)"
got=$(timeout 90 "$PY" "$W/at_terminal.py" c "$IN" count 2>&1 || true)
check_eq "(the same program run directly at the terminal counts one)" "sigint=1 answer=41" \
    "$(grep -o 'sigint=.*' <<<"$got" | head -1)"

# ^Z stops both (the terminal sends it to the group); SIGTSTP sent to
# hookpatch alone is passed on, so the child does not run on unseen.
got=$(timeout 90 "$PY" "$W/at_terminal.py" zgtgc "$HOOKPATCH" exec "$W/rules.toml" -- "$IN" count 2>&1 || true)
check_eq "exec: ^Z stops hookpatch and the child, kill -TSTP hookpatch stops both, SIGCONT resumes" \
    "z:stopped,stopped g:running,running t:stopped,stopped g:running,running|sigint=1 answer=42|rc=0" \
    "$(head -1 <<<"$got")|$(grep -o 'sigint=.*' <<<"$got" | head -1)|$(grep -o 'rc=.*' <<<"$got" | tail -1)"

launch "$HOOKPATCH" exec "$W/rules.toml" -- "$IN" count >"$W/kill.log" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q ready "$W/kill.log" 2>/dev/null && break; sleep 0.05; done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
check_eq "exec: kill -INT of hookpatch is forwarded to the child once" "0|sigint=1 answer=42" \
    "$rc|$(grep -o 'sigint=.*' "$W/kill.log")"

cp "$IN" "$W/noexec"
chmod 0644 "$W/noexec"
hp exec "$W/rules.toml" -- "$W/noexec"
check_eq "exec: a binary without execute permission exits 126" \
    "126|hookpatch: error: $W/noexec: cannot run it: Permission denied|" "$HP_RC|$HP_ERR|$(temp_files "$W")"
hp exec "$W/rules.toml" -- "$W/missing-binary"
check_eq "exec: a missing binary exits 127" \
    "127|hookpatch: error: $W/missing-binary: cannot run it: No such file or directory" "$HP_RC|$HP_ERR"
hp exec "$W/rules.toml" -- "$W/sub"
check_eq "exec: a directory exits 126" "126|hookpatch: error: $W/sub: cannot run it: Is a directory" "$HP_RC|$HP_ERR"

mkdir -p "$W/bin1" "$W/bin2" "$W/elsewhere"
cp "$IN" "$W/bin1/hp-subject"
chmod 0644 "$W/bin1/hp-subject"
cp "$IN" "$W/bin2/hp-subject"
got=$(cd "$W/elsewhere" && PATH="$W/bin1:$W/bin2:$PATH" "$HOOKPATCH" exec "$W/rules.toml" -- hp-subject 2>&1) || true
check_eq "exec: a name without a slash is found in PATH (skipping a non-executable match), patched" \
    "answer=42" "$got"
check_true "exec: no temporary left beside the file found in PATH" "" \
    bash -c '[[ -z $(find "$1/bin1" "$1/bin2" "$1/elsewhere" -name ".*.hookpatch-*") ]]' _ "$W"
rc=0
err=$(cd "$W/elsewhere" && PATH="$W/bin1" "$HOOKPATCH" exec "$W/rules.toml" -- hp-subject 2>&1) || rc=$?
check_eq "exec: only a non-executable match in PATH exits 126" \
    "126|hookpatch: error: hp-subject: cannot run it: Permission denied" "$rc|$err"
rc=0
err=$(PATH="$W/elsewhere" "$HOOKPATCH" exec "$W/rules.toml" -- hp-subject 2>&1) || rc=$?
check_eq "exec: a name not in PATH exits 127" "127|hookpatch: error: hp-subject: not found in PATH" "$rc|$err"

got=$( (trap '' INT HUP; exec "$HOOKPATCH" exec "$W/rules.toml" -- "$IN" disp) 2>&1) || true
check_eq "exec: inherited SIG_IGN passes to the child, SIGXFSZ is default" "INT=ign HUP=ign XFSZ=dfl" "$got"
got=$(launch "$HOOKPATCH" exec "$W/rules.toml" -- "$IN" disp 2>&1) || true
check_eq "exec: default dispositions stay default in the child" "INT=dfl HUP=dfl XFSZ=dfl" "$got"

e2e_finish
