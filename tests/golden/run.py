#!/usr/bin/env python3
"""Golden tests of the rewriter core (site analysis, resolve and claims,
jump islands, emit ordering, refusal reasons). See README.md here.

Each case is a directory holding `in.s` (the input program, every byte
chosen in assembly) and `rules.toml`, plus the expected results:

  expected.json  stdout of `hookpatch --dry-run --json in out rules.toml`
  expected.err   exit status, stdout (the -v plan) and stderr of
                 `hookpatch -v in out rules.toml`
  expected.dis   when OUT is written: each patched site of the original
                 code (bytes before and after, disassembled), the new code
                 sections disassembled, hookpatch's record, ELF properties
  expected.run   when the input is a runnable ELF: exit status and stdout of
                 the input and of the patched output

Every case also checks what must hold for any input: IN is unchanged, the
dry run writes nothing, a failed run leaves no OUT and no temporary file,
the dry run and the real run agree on the exit status, and two runs give
byte-identical outputs.

Usage: run.sh [--rebase] [CASE...]   (CASE: a directory name, e.g.
entry-plain-prologue or known-bugs/NAME). --rebase rewrites the expected
files from today's output (never those of known-bugs/: they hold the
corrected expectation, written by hand). HOOKPATCH selects the binary
(default: build/hookpatch), HP_WORK the scratch directory.
"""
import difflib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
KNOWN = "known-bugs"
EXPECTED = ("expected.json", "expected.err", "expected.dis", "expected.run")
OBJDUMP_LLVM = "llvm-objdump-14"
LD64 = "ld64.lld-14"
ENV = dict(os.environ, LC_ALL="C")


class Skip(Exception):
    pass


class Broken(Exception):
    """An invariant that holds for any input was violated."""


def run(argv, cwd, check=True, timeout=60):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, errors="replace",
                       env=ENV, timeout=timeout)
    if check and p.returncode != 0:
        raise Broken("command failed (exit %d): %s\n%s%s" % (p.returncode, " ".join(argv),
                                                             p.stdout, p.stderr))
    return p


def have(tool):
    return shutil.which(tool) is not None


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------- build

def directives(path):
    """`# golden: key = value` lines of in.s."""
    d = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*#\s*golden:\s*([\w-]+)\s*=\s*(.*?)\s*$", line)
            if m:
                d[m.group(1)] = m.group(2)
    return d


A64_PREFIX = "aarch64-linux-gnu-"
A64_RUNNER = ["qemu-aarch64-static", "-cpu", "max", "-L", "/usr/aarch64-linux-gnu"]


def assemble(kind, src, obj, w):
    if kind.startswith("a64"):
        if not have(A64_PREFIX + "as") or not have(A64_RUNNER[0]):
            raise Skip("needs %sas and %s" % (A64_PREFIX, A64_RUNNER[0]))
        run([A64_PREFIX + "as", "-o", obj, src], w)
    elif kind.startswith("elf"):
        run(["as", "--64", "-o", obj, src], w)
    elif kind.startswith("pe"):
        if not have("x86_64-w64-mingw32-as"):
            raise Skip("needs x86_64-w64-mingw32-as")
        run(["x86_64-w64-mingw32-as", "-o", obj, src], w)
    elif kind.startswith("macho"):
        if not have("clang"):
            raise Skip("needs clang")
        run(["clang", "-target", "x86_64-apple-macos11", "-c", "-o", obj, src], w)
    else:
        raise Broken("unknown build kind '%s'" % kind)


def link(kind, obj, out, w, ldflags=()):
    if kind == "a64-elf-exec":
        run([A64_PREFIX + "ld"] + list(ldflags) + ["-o", out, obj], w)
    elif kind == "elf-exec":
        run(["ld"] + list(ldflags) + ["-o", out, obj], w)
    elif kind == "elf-so":
        run(["ld", "-shared", "-o", out, obj], w)
    elif kind == "pe-exe":
        run(["x86_64-w64-mingw32-ld", "-e", "_start", "--subsystem", "console", "-o", out, obj],
            w)
    elif kind == "macho-exe":
        if not have(LD64):
            raise Skip("needs " + LD64)
        run([LD64, "-arch", "x86_64", "-platform_version", "macos", "11.0", "11.0",
             "-headerpad", "0x1000", "-e", "_start", "-o", out, obj], w)
    else:
        raise Broken("unknown build kind '%s'" % kind)


def build(case_dir, w, hp):
    """Build the case's input as `in` in w, its other .s files as objects
    (for `object =`), and copy rules.toml. Returns the directives."""
    d = directives(os.path.join(case_dir, "in.s"))
    kind = d.get("build", "elf-exec")
    for name in sorted(os.listdir(case_dir)):
        if name.endswith(".s"):
            shutil.copy(os.path.join(case_dir, name), w)
            assemble(kind, name, name[:-2] + ".o", w)
    shutil.copy(os.path.join(case_dir, "rules.toml"), w)
    if os.path.exists(os.path.join(case_dir, "prepatch.toml")):
        # The input is itself a hookpatch output.
        shutil.copy(os.path.join(case_dir, "prepatch.toml"), w)
        link(kind, "in.o", "in.0", w, d.get("ldflags", "").split())
        run([hp, "-q", "in.0", "in", "prepatch.toml"], w)
    else:
        link(kind, "in.o", "in", w, d.get("ldflags", "").split())
    d["build"] = kind
    return d


# ---------------------------------------------------------------- disassembly

INSN = re.compile(r"^\s*([0-9a-f]+):\s+((?:[0-9a-f]{2} )+)\s*(?:\t(.*))?$")
# AArch64 objdump prints each instruction as one word: "  4000a0:\t11000400 \tadd ..."
INSN_WORD = re.compile(r"^\s*([0-9a-f]+):\s+([0-9a-f]{8})\s*(?:\t(.*))?$")
SYM = re.compile(r"^([0-9a-f]+) <(.*)>:$")
SECTION = re.compile(r"^Disassembly of section (.*):$")


def fmt_insn(addr, raw, text):
    text = re.sub(r"\s+", " ", text.strip())
    return "%x: %-24s %s" % (addr, " ".join("%02x" % b for b in raw), text)


def objdump(kind):
    """GNU objdump where it reads the format (ELF, PE): it starts in a
    tenth of the time llvm-objdump takes; llvm-objdump for Mach-O."""
    if kind.startswith("macho"):
        return [OBJDUMP_LLVM, "-d", "-z", "--x86-asm-syntax=intel"]
    if kind.startswith("a64"):
        return [A64_PREFIX + "objdump", "-d", "-z"]
    return ["objdump", "-d", "-z", "-M", "intel", "--insn-width=16"]


def disassemble(kind, path, w, start=None, stop=None):
    """{section: {"insns": [(addr, bytes, text)], "syms": [(addr, name)]}},
    section order kept."""
    argv = objdump(kind)
    if start is not None:
        argv += ["--start-address=0x%x" % start, "--stop-address=0x%x" % stop]
    out = run(argv + [path], w).stdout
    secs, cur = {}, None
    for line in out.splitlines():
        m = SECTION.match(line)
        if m:
            cur = secs.setdefault(m.group(1), {"insns": [], "syms": []})
            continue
        m = SYM.match(line)
        if m and cur is not None:
            cur["syms"].append((int(m.group(1), 16), m.group(2)))
            continue
        m = INSN.match(line)
        if m and cur is not None:
            raw = bytes(int(x, 16) for x in m.group(2).split())
            cur["insns"].append((int(m.group(1), 16), raw, m.group(3) or ""))
            continue
        m = INSN_WORD.match(line)
        if m and cur is not None:
            raw = int(m.group(2), 16).to_bytes(4, "little")
            cur["insns"].append((int(m.group(1), 16), raw, m.group(3) or ""))
    return secs


def byte_map(sec):
    b = {}
    for addr, raw, _ in sec["insns"]:
        for i, v in enumerate(raw):
            b[addr + i] = v
    return b


def label(sec, addr):
    best = None
    for a, name in sec["syms"]:
        if a <= addr and (best is None or a >= best[0]):
            best = (a, name)
    if best is None:
        return "0x%x" % addr
    return "<%s>" % best[1] if best[0] == addr else "<%s+0x%x>" % (best[1], addr - best[0])


def changed_blocks(sec_in, sec_out):
    """Ranges [a, b) of the input's instructions whose bytes the output
    changed, merged when they overlap or touch."""
    bi, bo = byte_map(sec_in), byte_map(sec_out)
    starts = sorted(a for a, _, _ in sec_in["insns"])
    ends = {a: a + len(r) for a, r, _ in sec_in["insns"]}
    blocks = []
    for va in sorted(bi):
        if bo.get(va) == bi[va]:
            continue
        # The input instruction holding va.
        lo, hi = 0, len(starts)
        while lo < hi:
            mid = (lo + hi) // 2
            if starts[mid] <= va:
                lo = mid + 1
            else:
                hi = mid
        a = starts[lo - 1]
        b = ends[a]
        if blocks and a <= blocks[-1][1]:
            blocks[-1][1] = max(blocks[-1][1], b)
        else:
            blocks.append([a, b])
    return blocks


def info_record(kind, out_path, w):
    """hookpatch's own record of the run, as text."""
    tool = OBJDUMP_LLVM if kind.startswith("macho") else "objdump"
    heads = run([tool, "-h", out_path], w).stdout
    size = None
    for line in heads.splitlines():
        f = line.split()
        if len(f) >= 4 and f[1] in (".hookpatch.info", ".hookinf", "__info"):
            size = int(f[2], 16)
    if size is None:
        return None
    data = open(out_path, "rb").read()
    at = data.find(b"hookpatch-info 1\n")
    if at < 0:
        return None
    return data[at:at + size].rstrip(b"\0").decode("utf-8", "replace")


def gnu_property(path, w):
    p = run(["readelf", "-nW", path], w, check=False)
    for line in p.stdout.splitlines():
        for key in ("x86 feature:", "AArch64 feature:"):
            if key in line:
                return line[line.index(key):].strip()
    return None


def dis_report(d, w):
    """expected.dis: what the patch run changed and what it added."""
    lines = []
    kind = d["build"]
    din, dout = disassemble(kind, "in", w), disassemble(kind, "out", w)
    for name, sec in din.items():
        if name not in dout:
            lines.append("== section %s is gone from the output" % name)
            continue
        for a, b in changed_blocks(sec, dout[name]):
            lines.append("== patched %s 0x%x..0x%x %s" % (name, a, b, label(sec, a)))
            for addr, raw, text in sec["insns"]:
                if a <= addr < b:
                    lines.append("  - " + fmt_insn(addr, raw, text))
            part = disassemble(kind, "out", w, a, b).get(name, {"insns": []})
            for addr, raw, text in part["insns"]:
                lines.append("  + " + fmt_insn(addr, raw, text))
    for name, sec in dout.items():
        if name in din:
            continue
        lines.append("== new code: section %s" % name)
        syms = dict(sec["syms"])
        for addr, raw, text in sec["insns"]:
            if addr in syms:
                lines.append("%x <%s>:" % (addr, syms[addr]))
            lines.append("  " + fmt_insn(addr, raw, text))
    rec = info_record(kind, os.path.join(w, "out"), w)
    if rec is not None:
        lines.append("== record")
        lines += ["  " + l for l in rec.rstrip("\n").split("\n")]
    if d["build"].startswith(("elf", "a64")):
        pin, pout = gnu_property("in", w), gnu_property("out", w)
        if pin or pout:
            lines.append("== GNU property: in: %s; out: %s" % (pin, pout))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- one case

def program_run(path, w, runner=()):
    p = subprocess.run(list(runner) + [os.path.join(w, path)], cwd=w, capture_output=True,
                       timeout=20)
    s = "%s: exit %d\n" % (path, p.returncode)
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        s += "%s: | %s\n" % (path, line)
    return s


def temporaries(w):
    return sorted(n for n in os.listdir(w) if ".hookpatch-" in n)


def run_case(case, w, hp):
    """Returns ({expected file: actual text or None}, [broken invariants])."""
    case_dir = os.path.join(HERE, case)
    d = build(case_dir, w, hp)
    broken = []
    sha_in = sha(os.path.join(w, "in"))
    # `far = yes`: the test-only far layout (arm64 far prologue and jumps back).
    ENV.pop("HOOKPATCH_TEST_FAR", None)
    if d.get("far") == "yes":
        ENV["HOOKPATCH_TEST_FAR"] = "1"
    dry = run([hp, "--dry-run", "--json", "in", "out", "rules.toml"], w, check=False)
    if os.path.exists(os.path.join(w, "out")):
        broken.append("the dry run wrote OUT")
        os.remove(os.path.join(w, "out"))
    real = run([hp, "-v", "in", "out", "rules.toml"], w, check=False)
    got = {"expected.json": dry.stdout}
    got["expected.err"] = ("# hookpatch -v in out rules.toml: exit %d\n# stdout\n%s# stderr\n%s"
                           % (real.returncode, real.stdout, real.stderr))
    if dry.returncode != real.returncode:
        broken.append("the dry run exits %d, the real run %d" % (dry.returncode, real.returncode))
    out = os.path.join(w, "out")
    if real.returncode == 0:
        if not os.path.exists(out):
            broken.append("exit 0 but no OUT")
        else:
            again = run([hp, "-q", "in", "out2", "rules.toml"], w, check=False)
            if again.returncode != 0 or sha(out) != sha(os.path.join(w, "out2")):
                broken.append("a second run gave a different OUT (exit %d)" % again.returncode)
            got["expected.dis"] = dis_report(d, w)
            if d["build"] == "elf-exec" and d.get("run", "yes") == "yes":
                got["expected.run"] = program_run("in", w) + program_run("out", w)
            if d["build"] == "a64-elf-exec" and d.get("run", "yes") == "yes":
                got["expected.run"] = (program_run("in", w, A64_RUNNER) +
                                       program_run("out", w, A64_RUNNER))
    elif os.path.exists(out):
        broken.append("exit %d but OUT was written" % real.returncode)
    if temporaries(w):
        broken.append("temporary files left: %s" % ", ".join(temporaries(w)))
    if sha(os.path.join(w, "in")) != sha_in:
        broken.append("IN was modified")
    for k in EXPECTED:
        got.setdefault(k, None)
    return got, broken


def compare(case, got):
    """Unified diffs of every expected file that differs."""
    diffs = []
    for name in EXPECTED:
        path = os.path.join(HERE, case, name)
        want = open(path).read() if os.path.exists(path) else None
        if want == got[name]:
            continue
        if want is None:
            diffs.append("%s: not expected, but produced:\n%s" % (name, got[name]))
        elif got[name] is None:
            diffs.append("%s: expected, but not produced" % name)
        else:
            diffs.append("".join(difflib.unified_diff(
                want.splitlines(True), got[name].splitlines(True),
                "%s/%s (expected)" % (case, name), "%s/%s (actual)" % (case, name))))
    return diffs


def rebase(case, got):
    for name in EXPECTED:
        path = os.path.join(HERE, case, name)
        if got[name] is None:
            if os.path.exists(path):
                os.remove(path)
        else:
            with open(path, "w") as f:
                f.write(got[name])


def all_cases():
    found = []
    for top in (HERE, os.path.join(HERE, KNOWN)):
        if not os.path.isdir(top):
            continue
        for name in sorted(os.listdir(top)):
            if os.path.exists(os.path.join(top, name, "rules.toml")):
                found.append(os.path.relpath(os.path.join(top, name), HERE))
    return found


def main(argv):
    do_rebase = "--rebase" in argv
    names = [a.rstrip("/") for a in argv if a != "--rebase"]
    if any(a.startswith("-") for a in names):
        print(__doc__)
        return 2
    hp = os.path.abspath(os.environ.get("HOOKPATCH", os.path.join(SRC, "build", "hookpatch")))
    if not os.access(hp, os.X_OK):
        print("golden: HOOKPATCH=%s is not an executable" % hp, file=sys.stderr)
        return 2
    if not have("objdump"):
        print("golden: needs objdump", file=sys.stderr)
        return 2
    cases = all_cases()
    if names:
        unknown = [n for n in names if n not in cases]
        if unknown:
            print("golden: no such case: %s" % ", ".join(unknown), file=sys.stderr)
            return 2
        cases = names
    own_work = not os.environ.get("HP_WORK")
    work = os.environ.get("HP_WORK") or tempfile.mkdtemp(prefix="hp-golden-")
    t0 = time.time()
    failed, known_open, known_fixed, skipped = [], [], [], []
    for case in cases:
        w = os.path.join(work, case)
        shutil.rmtree(w, ignore_errors=True)
        os.makedirs(w)
        known = case.startswith(KNOWN + "/")
        try:
            got, broken = run_case(case, w, hp)
        except Skip as e:
            skipped.append(case)
            print("SKIP    %s: %s" % (case, e))
            continue
        except (Broken, subprocess.TimeoutExpired) as e:
            got, broken = None, [str(e)]
        diffs = compare(case, got) if got else []
        if do_rebase and got and not known:
            rebase(case, got)
            diffs = []
        bad = broken + diffs
        if known:
            tag = "KNOWN" if bad else "FIXED?"
            (known_open if bad else known_fixed).append(case)
            print("%-7s %s%s" % (tag, case, "" if bad else
                                 ": matches its corrected expectation; move it out of known-bugs/"))
            for b in bad:
                print("        | " + b.replace("\n", "\n        | ").rstrip(" |"))
            continue
        print("%-7s %s" % ("FAIL" if bad else ("rebased" if do_rebase else "ok"), case))
        for b in bad:
            print("        | " + b.replace("\n", "\n        | ").rstrip(" |"))
        if bad:
            failed.append(case)
    print("golden: %d cases, %d failed, %d skipped; known bugs: %d still open, %d now pass "
          "(%.1fs)" % (len(cases), len(failed), len(skipped), len(known_open), len(known_fixed),
                        time.time() - t0))
    if do_rebase:
        print("golden: expected files rewritten; review them with `git diff tests/golden`")
    if own_work and not failed:
        shutil.rmtree(work, ignore_errors=True)
    elif failed:
        print("golden: the failed cases' files are in %s" % work)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
