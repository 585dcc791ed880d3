#!/usr/bin/python3
"""Check and run x86-64 and arm64 Mach-O files without a Mac (driver for
macho_emu.sh and macho_a64.sh).

  macho_emu.py call FILE SYMBOL c|go ARG...   call a function under unicorn;
                                             prints the result (rax, signed)
                                             or "trap" (invalid instruction)
  macho_emu.py batch                         the same for each stdin line
                                             "FILE SYMBOL ABI ARG...", one
                                             result line each (one process:
                                             importing unicorn is slow)
  macho_emu.py layout FILE                   segment sanity: __LINKEDIT last,
                                             no overlaps; prints the names
  macho_emu.py sig FILE                      verify the ad hoc signature's
                                             page hashes; prints "ok", or
                                             "unsigned"
  macho_emu.py slice FILE CPU OUT            write one slice of a universal
                                             file (CPU: x86_64 or arm64)
  macho_emu.py funcs FILE                    the number of functions in Go's
                                             pclntab (nfunc)
  macho_emu.py entry FILE SYMBOL             where an arm64 function's first
                                             instruction goes: "b SEGMENT" for
                                             a B, else "insn 0xWORD"
  macho_emu.py chains FILE                   walk LC_DYLD_CHAINED_FIXUPS like
                                             dyld; one line per fixup:
                                             "SEG+0xOFF rebase 0xTARGET" or
                                             "SEG+0xOFF bind NAME" (the import's
                                             name, through imports_offset and
                                             symbols_offset)
  macho_emu.py cstr FILE VA                  print the C string at VA

The Mach-O reader here is independent of hookpatch's (a second opinion):
segments are mapped at their link-time addresses, so rebasing adds
nothing; but with chained fixups a pointer slot holds its chain entry, not
the pointer, so the chains are walked (following <mach-o/fixup-chains.h>,
formats DYLD_CHAINED_PTR_64 and _64_OFFSET) and each rebase's target is
written into its slot before a call, as dyld does. x86-64: C functions get their arguments in rdi, rsi; Go functions
(ABIInternal) in rax, rbx, rcx, rdi, rsi, with r14 pointing at a fake g
whose stackguard0 is 0 so the prologue's stack check never calls
morestack. arm64: C arguments in x0, x1, the result in w0; Go
(ABIInternal, abi "go") arguments in x0..x15, the result in x0, with x28
pointing at a fake g whose stackguard0 (g+0x10) is below sp; the return
address in x30; UDF and BRK count as "trap". A call ends when it returns
to a sentinel address.

abi "gomore" (Go arm64): the fake g's stackguard0 starts ABOVE sp, so the
first stack check taken branches to the function's morestack trailer
("mov x3, x30; bl runtime.morestack_noctxt; b entry"). runtime.morestack
and morestack_noctxt are emulated: record the return address the trailer
left in x30 and the target of the B found there, lower the guard (the
stack "grew"), and resume at that return address with x30 = x3, as
newstack does when it restarts the function. The result line then reads
"RESULT morestack=N resume=NAME", NAME the symbol (or pclntab function)
the first resume branch goes to, "+0xOFF" appended when not its start.

abi "go8" / "gomore8": the same, the result's low byte only (a Go bool).

SYMBOL: the symbol table's name ("_main.Add"), else a Go function's
pclntab name ("main.Add", for stripped binaries), else "0xADDRESS". An
argument "@buf" is a pointer to 2 KiB of zeroed memory (a receiver);
"@s:TEXT" a pointer to the bytes of TEXT (pass its length separately).
"""
import hashlib
import struct
import sys

CPU_X86_64 = 0x01000007
CPU_ARM64 = 0x0100000C
LC_SEGMENT_64 = 0x19
LC_SYMTAB = 0x2
LC_CODE_SIGNATURE = 0x1D
LC_DYLD_CHAINED_FIXUPS = 0x80000034
PAGE = 0x1000
SENTINEL = 0x7FFF_0000_0000
STACK = 0x7FFE_0000_0000
STACK_SIZE = 0x100000
FAKE_G = 0x7FFD_0000_0000


class Failure(Exception):
    pass


def fail(msg):
    raise Failure(msg)


def slices(data):
    """(cputype, offset, size) of every slice (one for a thin file)."""
    magic = struct.unpack_from(">I", data, 0)[0]
    if magic in (0xCAFEBABE, 0xCAFEBABF):
        n = struct.unpack_from(">I", data, 4)[0]
        out = []
        for i in range(n):
            if magic == 0xCAFEBABE:
                cpu, _, off, size, _ = struct.unpack_from(">IIIII", data, 8 + 20 * i)
            else:
                cpu, _, off, size, _, _ = struct.unpack_from(">IIQQII", data, 8 + 32 * i)
            out.append((cpu, off, size))
        return out
    cpu = struct.unpack_from("<I", data, 4)[0]
    return [(cpu, 0, len(data))]


def thin(data, cpu=None):
    """The slice for cpu; None: a thin file's only slice, else x86-64's."""
    sl = slices(data)
    if cpu is None and len(sl) == 1 and struct.unpack_from(">I", data, 0)[0] not in (0xCAFEBABE, 0xCAFEBABF):
        return data
    for c, off, size in sl:
        if c == (cpu or CPU_X86_64):
            return data[off:off + size]
    fail("no slice for CPU 0x%x" % cpu)


class MachO:
    def __init__(self, data):
        self.data = data
        magic, cpu, _, ftype, ncmds, sizeofcmds, flags, _ = struct.unpack_from("<IIIIIIII", data, 0)
        if magic != 0xFEEDFACF or cpu not in (CPU_X86_64, CPU_ARM64):
            fail("not an x86-64 or arm64 Mach-O slice")
        self.cpu, self.filetype, self.flags = cpu, ftype, flags
        self.segs, self.sects, self.cmds = [], [], []
        off = 32
        for _ in range(ncmds):
            cmd, size = struct.unpack_from("<II", data, off)
            self.cmds.append((cmd, off, size))
            if cmd == LC_SEGMENT_64:
                name, va, vms, fo, fs, maxp, initp, ns, _ = struct.unpack_from("<16sQQQQIIII", data, off + 8)
                name = name.rstrip(b"\0").decode()
                self.segs.append(dict(name=name, va=va, vmsize=vms, off=fo, filesize=fs, prot=initp))
                for k in range(ns):
                    sn, sg, addr, ssize, soff = struct.unpack_from("<16s16sQQI", data, off + 72 + 80 * k)
                    self.sects.append((sg.rstrip(b"\0").decode(), sn.rstrip(b"\0").decode(), addr, ssize, soff))
            off += size
        self.lc_end = off

    def cmd(self, which):
        for cmd, off, size in self.cmds:
            if cmd == which:
                return off
        return None

    def symbols(self):
        if not hasattr(self, "_syms"):
            self._syms = self.read_symbols()
        return self._syms

    def read_symbols(self):
        off = self.cmd(LC_SYMTAB)
        if off is None:
            return {}
        symoff, nsyms, stroff, strsize = struct.unpack_from("<IIII", self.data, off + 8)
        out = {}
        for i in range(nsyms):
            strx, ntype, nsect, _, value = struct.unpack_from("<IBBHQ", self.data, symoff + 16 * i)
            if ntype & 0xE0 or (ntype & 0x0E) != 0x0E:
                continue
            end = self.data.index(b"\0", stroff + strx)
            out[self.data[stroff + strx:end].decode()] = value
        return out


    def sect(self, seg, name):
        for sg, sn, addr, size, off in self.sects:
            if sn == name and (seg is None or sg == seg):
                return addr, size, off
        return None

    def pclntab(self):
        """{name: entry} of Go's function table (Go 1.18+ layout), read
        here independently of hookpatch's reader."""
        if hasattr(self, "_pcln"):
            return self._pcln
        self._pcln = {}
        sec = self.sect(None, "__gopclntab")
        if not sec:
            return self._pcln
        base = sec[2]
        magic = struct.unpack_from("<I", self.data, base)[0]
        if magic not in (0xFFFFFFF0, 0xFFFFFFF1):
            fail("pclntab magic 0x%x: not Go 1.18+" % magic)
        nfunc, _, text, nameoff, _, _, _, pclnoff = struct.unpack_from("<8Q", self.data, base + 8)
        if not text:  # newer Go leaves textStart to the loader: runtime.text, __text's start
            text = self.sect("__TEXT", "__text")[0]
        ftab = base + pclnoff
        for i in range(nfunc):
            entry, funcoff = struct.unpack_from("<II", self.data, ftab + 8 * i)
            nameo = struct.unpack_from("<i", self.data, ftab + funcoff + 4)[0]
            n0 = base + nameoff + nameo
            name = self.data[n0:self.data.index(b"\0", n0)].decode()
            self._pcln.setdefault(name, text + entry)
        return self._pcln

    def resolve(self, sym):
        syms = self.symbols()
        for n in (sym, "_" + sym):
            if n in syms:
                return syms[n]
        if sym.startswith("0x"):
            return int(sym, 16)
        pcln = self.pclntab()
        if sym in pcln:
            return pcln[sym]
        fail("no symbol %s" % sym)

    def name_at(self, va):
        """The function containing va: "name" or "name+0xOFF"."""
        cands = [(v, 1, n) for n, v in self.symbols().items() if v <= va]
        cands += [(v, 0, n) for n, v in self.pclntab().items() if v <= va]
        if not cands:
            return "0x%x" % va
        v, _, n = max(cands)
        return n if v == va else "%s+0x%x" % (n, va - v)
def chained_fixups(m):
    """[(segment, offset in it, "rebase" or "bind", target or ordinal)]."""
    off = m.cmd(LC_DYLD_CHAINED_FIXUPS)
    if off is None:
        return []
    d = m.data
    doff, dsize = struct.unpack_from("<II", d, off + 8)
    if doff + dsize > len(d) or dsize < 28:
        fail("chained fixups blob outside the file")
    blob = d[doff:doff + dsize]
    version, starts, imports, symbols, nimports, ifmt, _ = struct.unpack_from("<7I", blob, 0)
    if version != 0 or starts + 4 > dsize:
        fail("bad chained fixups header")
    isize = {1: 4, 2: 8, 3: 16}.get(ifmt)
    if isize is None or imports + isize * nimports > dsize or symbols > dsize:
        fail("imports (format %d, %d at 0x%x) outside the blob" % (ifmt, nimports, imports))

    def import_name(ordinal):
        if ordinal >= nimports:
            fail("bind ordinal %d of %d imports" % (ordinal, nimports))
        v = struct.unpack_from("<Q" if ifmt == 3 else "<I", blob, imports + isize * ordinal)[0]
        at = symbols + (v >> 32 if ifmt == 3 else v >> 9)
        end = blob.find(b"\0", at)
        if at >= dsize or end < 0:
            fail("import name outside the blob")
        return blob[at:end].decode()
    nseg = struct.unpack_from("<I", blob, starts)[0]
    if nseg != len(m.segs):
        fail("seg_count %d, but %d segments" % (nseg, len(m.segs)))
    hdr_va = next(s["va"] for s in m.segs if s["off"] == 0 and s["filesize"])
    out = []
    for i in range(nseg):
        info = struct.unpack_from("<I", blob, starts + 4 + 4 * i)[0]
        if not info:
            continue
        p = starts + info
        if p % 8:
            fail("starts of segment %d not 8-aligned" % i)
        size, psize, fmt, segoff, _, npages = struct.unpack_from("<IHHQIH", blob, p)
        if size != 22 + 2 * npages or p + size > dsize:
            fail("starts of segment %d: size %d for %d pages" % (i, size, npages))
        if fmt not in (2, 6):
            fail("pointer format %d not handled" % fmt)
        seg = m.segs[i]
        if hdr_va + segoff != seg["va"]:
            fail("segment_offset 0x%x does not match %s" % (segoff, seg["name"]))
        if npages * psize < seg["filesize"] or (npages - 1) * psize >= max(seg["vmsize"], 1):
            fail("%d pages of 0x%x for %s" % (npages, psize, seg["name"]))
        for pg in range(npages):
            start = struct.unpack_from("<H", blob, p + 22 + 2 * pg)[0]
            if start == 0xFFFF:
                continue
            if start & 0x8000 or start % 4:
                fail("page start 0x%x" % start)
            at = pg * psize + start
            while True:
                if at + 8 > min(seg["filesize"], (pg + 1) * psize):
                    fail("fixup at %s+0x%x outside the page or file" % (seg["name"], at))
                v = struct.unpack_from("<Q", d, seg["off"] + at)[0]
                nxt = (v >> 51) & 0xFFF
                if v >> 63:
                    out.append((seg["name"], at, "bind", import_name(v & 0xFFFFFF)))
                else:
                    if (v >> 44) & 0x7F:
                        fail("reserved bits set at %s+0x%x" % (seg["name"], at))
                    target = (v & ((1 << 36) - 1)) | ((v >> 36) & 0xFF) << 56
                    if fmt == 6:
                        target += hdr_va
                    out.append((seg["name"], at, "rebase", target))
                if not nxt:
                    break
                at += 4 * nxt
    return out


def apply_rebases(m, uc):
    """Write each chained rebase's target into its slot (slide 0)."""
    va = {s["name"]: s["va"] for s in m.segs}
    for seg, off, kind, target in chained_fixups(m):
        if kind == "rebase":
            uc.mem_write(va[seg] + off, struct.pack("<Q", target))


def cmd_chains(path):
    m = MachO(thin(open(path, "rb").read()))
    for seg, off, kind, target in chained_fixups(m):
        print("%s+0x%x %s 0x%x" % (seg, off, kind, target) if kind == "rebase"
              else "%s+0x%x bind %s" % (seg, off, target))


def cmd_cstr(path, va):
    m = MachO(thin(open(path, "rb").read()))
    for s in m.segs:
        if s["va"] <= va < s["va"] + s["filesize"]:
            at = s["off"] + va - s["va"]
            print(m.data[at:m.data.index(b"\0", at)].decode())
            return
    fail("0x%x is not in the file" % va)


def cmd_layout(path):
    m = MachO(thin(open(path, "rb").read()))
    names = [s["name"] for s in m.segs]
    if names[-1] != "__LINKEDIT":
        fail("__LINKEDIT is not the last segment: %s" % names)
    le = m.segs[-1]
    if le["off"] + le["filesize"] > len(m.data):
        fail("__LINKEDIT extends beyond the file")
    mapped = sorted((s["va"], s["va"] + s["vmsize"], s["name"]) for s in m.segs if s["vmsize"])
    for a, b in zip(mapped, mapped[1:]):
        if a[1] > b[0]:
            fail("segments %s and %s overlap" % (a[2], b[2]))
    files = sorted((s["off"], s["off"] + s["filesize"], s["name"]) for s in m.segs if s["filesize"] and s["off"])
    for a, b in zip(files, files[1:]):
        if a[1] > b[0]:
            fail("segments %s and %s overlap in the file" % (a[2], b[2]))
    page = 0x4000 if m.cpu == CPU_ARM64 else PAGE
    for s in m.segs:
        if s["name"] != "__PAGEZERO" and s["vmsize"] and (s["va"] % page or s["off"] % page):
            fail("segment %s is not page-aligned" % s["name"])
    first = min((so for _, _, _, sz, so in m.sects if so and sz), default=len(m.data))
    if m.lc_end > first:
        fail("load commands overlap section data")
    print(" ".join(names))


def cmd_sig(path):
    d = thin(open(path, "rb").read())
    m = MachO(d)
    off = m.cmd(LC_CODE_SIGNATURE)
    if off is None:
        print("unsigned")
        return
    sigoff, sigsize = struct.unpack_from("<II", d, off + 8)
    if sigoff + sigsize != len(d):
        fail("signature does not end the slice")
    le = m.segs[-1]
    if le["name"] != "__LINKEDIT" or le["off"] + le["filesize"] != sigoff + sigsize:
        fail("__LINKEDIT does not end with the signature")
    blob = d[sigoff:sigoff + sigsize]
    magic, length, count = struct.unpack_from(">III", blob, 0)
    if magic != 0xFADE0CC0 or length > sigsize:
        fail("bad SuperBlob")
    slots = dict(struct.unpack_from(">II", blob, 12 + 8 * i) for i in range(count))
    cd = blob[slots[0]:]
    (cmagic, clen, ver, flags, hashoff, identoff, nspecial, ncode, limit, hsize, htype, _, pshift) = \
        struct.unpack_from(">IIIIIIIIIBBBB", cd, 0)
    if cmagic != 0xFADE0C02 or htype != 2 or hsize != 32 or pshift != 12:
        fail("bad CodeDirectory")
    if limit != sigoff:
        fail("code limit 0x%x is not the signature offset 0x%x" % (limit, sigoff))
    if ncode != (limit + PAGE - 1) // PAGE:
        fail("%d code slots for %d bytes" % (ncode, limit))
    for i in range(ncode):
        want = hashlib.sha256(d[i * PAGE:min((i + 1) * PAGE, limit)]).digest()
        if cd[hashoff + 32 * i:hashoff + 32 * (i + 1)] != want:
            fail("page %d hash mismatch" % i)
    if 2 in slots and nspecial >= 2:
        rlen = struct.unpack_from(">I", blob, slots[2] + 4)[0]
        want = hashlib.sha256(blob[slots[2]:slots[2] + rlen]).digest()
        if cd[hashoff - 64:hashoff - 32] != want:
            fail("requirements hash mismatch")
    ident = cd[identoff:cd.index(b"\0", identoff)].decode()
    print("ok %s flags=0x%x version=0x%x pages=%d" % (ident, flags, ver, ncode))


_parsed = {}


def cmd_call(path, sym, abi, args):
    from unicorn import Uc, UcError, UC_ARCH_X86, UC_MODE_64, UC_ERR_INSN_INVALID
    from unicorn import x86_const as X

    if path not in _parsed:
        _parsed[path] = MachO(thin(open(path, "rb").read()))
    m = _parsed[path]
    if m.cpu == CPU_ARM64:
        return call_arm64(m, sym, abi, args)
    syms = m.symbols()
    if sym not in syms:
        fail("no symbol %s" % sym)
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    for s in m.segs:
        if not s["vmsize"] or not s["prot"]:
            continue
        size = (s["vmsize"] + PAGE - 1) & ~(PAGE - 1)
        uc.mem_map(s["va"], size)
        uc.mem_write(s["va"], m.data[s["off"]:s["off"] + min(s["filesize"], s["vmsize"])])
    apply_rebases(m, uc)
    uc.mem_map(STACK, STACK_SIZE)
    uc.mem_map(FAKE_G, PAGE)
    uc.mem_map(SENTINEL, PAGE)
    rsp = STACK + STACK_SIZE - 0x1000
    uc.mem_write(rsp, struct.pack("<Q", SENTINEL))
    uc.reg_write(X.UC_X86_REG_RSP, rsp)
    regs = {"c": [X.UC_X86_REG_RDI, X.UC_X86_REG_RSI, X.UC_X86_REG_RDX, X.UC_X86_REG_RCX],
            "go": [X.UC_X86_REG_RAX, X.UC_X86_REG_RBX, X.UC_X86_REG_RCX, X.UC_X86_REG_RDI,
                   X.UC_X86_REG_RSI]}[abi]
    for r, v in zip(regs, args):
        uc.reg_write(r, v & 0xFFFFFFFFFFFFFFFF)
    if abi == "go":
        uc.reg_write(X.UC_X86_REG_R14, FAKE_G)
    try:
        uc.emu_start(syms[sym], SENTINEL, count=1_000_000)
    except UcError as e:
        if e.errno == UC_ERR_INSN_INVALID:
            print("trap")
            return
        fail("emulation: %s at 0x%x" % (e, uc.reg_read(X.UC_X86_REG_RIP)))
    if uc.reg_read(X.UC_X86_REG_RIP) != SENTINEL:
        fail("did not return (rip 0x%x)" % uc.reg_read(X.UC_X86_REG_RIP))
    rax = uc.reg_read(X.UC_X86_REG_RAX)
    if abi == "c":  # C ints: the low 32 bits, signed
        rax &= 0xFFFFFFFF
        print(rax - (1 << 32) if rax >> 31 else rax)
    else:
        print(rax - (1 << 64) if rax >> 63 else rax)


MORESTACK = ("runtime.morestack", "runtime.morestack_noctxt", "runtime.morestack.abi0",
             "runtime.morestack_noctxt.abi0")
GUARD_LOW = STACK  # below every sp of a call: the stack check passes
GUARD_HIGH = 0xFFFF_FFFF_FFFF_FFF0  # above sp: the check branches to morestack
BUF = 0x7FFC_0000_0000


STRINGS = []  # (va, bytes) of the current call's "@s:" arguments
# (slot va, symbol) of the current call's "@fv:VA=SYM" words: before the
# call, a Go func value for SYM (a word holding its entry, in BUF) is
# stored into the switch slot at VA. They are not arguments.
FUNCVALS = []
FUNCVAL_AT = 0x7FFC_0000_0F00


def arg_value(a):
    if a == "@buf":
        return BUF
    if a.startswith("@s:"):
        va = BUF + 0x800 + sum(len(b) + 8 for _, b in STRINGS)
        STRINGS.append((va, a[3:].encode()))
        return va
    return int(a, 0)


def call_arm64(m, sym, abi, args):
    from unicorn import Uc, UcError, UC_ARCH_ARM64, UC_MODE_ARM, UC_ERR_INSN_INVALID, UC_ERR_EXCEPTION
    from unicorn import UC_HOOK_CODE
    from unicorn import arm64_const as A

    byte = abi.endswith("8")
    abi = abi.rstrip("8")
    if abi not in ("c", "go", "gomore"):
        fail("arm64: abi %s?" % abi)
    entry = m.resolve(sym)
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    for s in m.segs:
        if not s["vmsize"] or not s["prot"]:
            continue
        size = (s["vmsize"] + PAGE - 1) & ~(PAGE - 1)
        uc.mem_map(s["va"], size)
        uc.mem_write(s["va"], m.data[s["off"]:s["off"] + min(s["filesize"], s["vmsize"])])
    apply_rebases(m, uc)
    uc.mem_map(STACK, STACK_SIZE)
    uc.mem_map(SENTINEL, PAGE)
    uc.mem_map(BUF, PAGE)
    for va, b in STRINGS:
        uc.mem_write(va, b)
    for k, (slot, fsym) in enumerate(FUNCVALS):
        uc.mem_write(FUNCVAL_AT + 8 * k, struct.pack("<Q", m.resolve(fsym)))
        uc.mem_write(slot, struct.pack("<Q", FUNCVAL_AT + 8 * k))
    sp = STACK + STACK_SIZE - 0x1000
    uc.reg_write(A.UC_ARM64_REG_SP, sp)
    uc.reg_write(A.UC_ARM64_REG_X30, SENTINEL)
    nregs = 3 if abi == "c" else 16
    regs = [getattr(A, "UC_ARM64_REG_X%d" % i) for i in range(nregs)]
    if len(args) > nregs:
        fail("too many arguments")
    for r, v in zip(regs, args):
        uc.reg_write(r, v & 0xFFFFFFFFFFFFFFFF)
    state = {"n": 0, "resume": None}
    if abi != "c":
        uc.mem_map(FAKE_G, PAGE)
        # g: stack.lo, stack.hi, stackguard0, stackguard1
        guard = GUARD_HIGH if abi == "gomore" else GUARD_LOW
        uc.mem_write(FAKE_G, struct.pack("<QQQQ", STACK, STACK + STACK_SIZE, guard, guard))
        uc.reg_write(A.UC_ARM64_REG_X28, FAKE_G)
        hooks = set()
        for name in MORESTACK:
            for n in (name, "_" + name):
                if n in m.symbols():
                    hooks.add(m.symbols()[n])
            if name in m.pclntab():
                hooks.add(m.pclntab()[name])
        if not hooks:
            fail("no runtime.morestack")

        def on_code(uc, addr, size, _):
            if addr not in hooks:
                return
            lr = uc.reg_read(A.UC_ARM64_REG_X30)
            b = lr  # the trailer reloads the spilled arguments, then B
            for b in range(lr, lr + 4 * 20, 4):
                insn = struct.unpack("<I", uc.mem_read(b, 4))[0]
                if insn >> 26 == 0b000101:
                    break
            else:
                fail("no B within 20 instructions of morestack's return address 0x%x" % lr)
            off = (insn & 0x3FFFFFF) << 2
            off -= (1 << 28) if off >> 27 else 0
            state["n"] += 1
            if state["n"] > 8:
                fail("morestack entered %d times: the guard never passes" % state["n"])
            if state["resume"] is None:
                state["resume"] = m.name_at(b + off)
            uc.mem_write(FAKE_G + 0x10, struct.pack("<Q", GUARD_LOW))
            uc.reg_write(A.UC_ARM64_REG_X30, uc.reg_read(A.UC_ARM64_REG_X3))
            uc.reg_write(A.UC_ARM64_REG_PC, lr)

        uc.hook_add(UC_HOOK_CODE, on_code, begin=min(hooks), end=max(hooks) + 4)
    try:
        uc.emu_start(entry, SENTINEL, count=5_000_000)
    except UcError as e:
        if e.errno in (UC_ERR_INSN_INVALID, UC_ERR_EXCEPTION):
            print("trap")
            return
        fail("emulation: %s at 0x%x" % (e, uc.reg_read(A.UC_ARM64_REG_PC)))
    if uc.reg_read(A.UC_ARM64_REG_PC) != SENTINEL:
        fail("did not return (pc 0x%x)" % uc.reg_read(A.UC_ARM64_REG_PC))
    if uc.reg_read(A.UC_ARM64_REG_SP) != sp:
        fail("sp 0x%x after the return, not 0x%x" % (uc.reg_read(A.UC_ARM64_REG_SP), sp))
    x0 = uc.reg_read(A.UC_ARM64_REG_X0)
    if abi == "c":
        x0 &= 0xFFFFFFFF
        print(x0 - (1 << 32) if x0 >> 31 else x0)
        return
    res = x0 & 0xFF if byte else x0 - (1 << 64) if x0 >> 63 else x0
    if abi == "gomore":
        print("%d morestack=%d resume=%s" % (res, state["n"], state["resume"]))
    else:
        print(res)


def cmd_entry(path, sym):
    m = MachO(thin(open(path, "rb").read()))
    va = m.resolve(sym)
    seg = next((s for s in m.segs if s["va"] <= va < s["va"] + s["vmsize"]), None) or fail("0x%x unmapped" % va)
    insn = struct.unpack_from("<I", m.data, seg["off"] + va - seg["va"])[0]
    if insn >> 26 != 0b000101:
        print("insn 0x%08x" % insn)
        return
    off = (insn & 0x3FFFFFF) << 2
    to = va + off - ((1 << 28) if off >> 27 else 0)
    print("b " + next((s["name"] for s in m.segs if s["va"] <= to < s["va"] + s["vmsize"]), "unmapped"))


def cmd_batch():
    for line in sys.stdin:
        f = line.split()
        if not f:
            continue
        STRINGS.clear()
        FUNCVALS.clear()
        for a in f[3:]:
            if a.startswith("@fv:"):
                va, fsym = a[4:].split("=", 1)
                FUNCVALS.append((int(va, 0), fsym))
        try:
            cmd_call(f[0], f[1], f[2], [arg_value(a) for a in f[3:] if not a.startswith("@fv:")])
        except Failure as e:
            print("error: %s" % e)
        except Exception as e:  # a broken file must not end the batch
            print("error: %s: %s" % (type(e).__name__, e))
        sys.stdout.flush()


def main(argv):
    if len(argv) == 2 and argv[1] == "batch":
        cmd_batch()
    elif len(argv) >= 3 and argv[1] == "layout":
        cmd_layout(argv[2])
    elif len(argv) == 4 and argv[1] == "cstr":
        cmd_cstr(argv[2], int(argv[3], 0))
    elif len(argv) >= 3 and argv[1] == "chains":
        cmd_chains(argv[2])
    elif len(argv) >= 3 and argv[1] == "sig":
        cmd_sig(argv[2])
    elif len(argv) >= 5 and argv[1] == "call":
        cmd_call(argv[2], argv[3], argv[4], [arg_value(a) for a in argv[5:]])
    elif len(argv) == 3 and argv[1] == "funcs":
        m = MachO(thin(open(argv[2], "rb").read()))
        sec = m.sect(None, "__gopclntab") or fail("no __gopclntab")
        print(struct.unpack_from("<Q", m.data, sec[2] + 8)[0])
    elif len(argv) == 4 and argv[1] == "entry":
        cmd_entry(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == "slice":
        cpu = {"x86_64": CPU_X86_64, "arm64": CPU_ARM64}[argv[3]]
        open(argv[4], "wb").write(thin(open(argv[2], "rb").read(), cpu))
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except Failure as e:
        print("error: %s" % e)
        sys.exit(1)
