#!/usr/bin/env python3
"""check_layers.py MANIFEST: fail when an #include or a symbol points up a
layer, or sideways into a folder that is not below (ARCHITECTURE.md).

The layers, bottom to top:  base -> sections -> relocs -> rewriter -> cli.
A file may use its own folder and the folders below it, nothing else.
Inside sections/, the format folders (elf/, pe/, macho/) and debug/ are
siblings: a format folder may use the neutral model (sections/*) and the
debug readers; debug/ may use the neutral model only. (The neutral model's
two registries, hp_image_load and hp_obj_read, name every backend: they
are the one place sections/ reaches into its format folders.)

Checked, from the sources and from the built objects:
  1. every `#include "..."` under base/ sections/ relocs/ rewriter/ cli/;
  2. every undefined symbol of every object of each library (nm): defined
     in the same folder or one it may use; names no project library
     defines (libc, Zydis, cJSON, ...) are not the project's to check;
  3. each library links exactly the project libraries whose symbols it
     uses (target_link_libraries in CMakeLists.txt);
  4. no cycle between the objects of rewriter/ (who calls whom), so the
     passes read top to bottom;
  5. each unit test and fuzzer links only libraries it calls into
     directly (the libraries below come with them).

The MANIFEST is written by CMake (file(GENERATE), top-level CMakeLists.txt):
  source <dir>
  library <name> <folder>   then its  object <path>  and  link <name>  lines
  program <name>            (a test or fuzzer) with the same lines
"""
import os
import re
import subprocess
import sys

LAYERS = ["base", "sections", "relocs", "rewriter", "cli"]
SECTIONS_SUB = {
    "sections/elf": {"sections", "sections/debug"},
    "sections/pe": {"sections", "sections/debug"},
    "sections/macho": {"sections", "sections/debug"},
    "sections/debug": {"sections"},
}
ACYCLIC = ["rewriter"]  # folders whose objects must not call each other in a cycle


def folder_of(rel):
    """'sections/elf/elf.c' -> 'sections/elf'; 'rewriter/plan.c' -> 'rewriter'."""
    parts = rel.split("/")
    if len(parts) >= 3 and "/".join(parts[:2]) in SECTIONS_SUB:
        return "/".join(parts[:2])
    return parts[0] if parts[0] in LAYERS else None


def layer(folder):
    return LAYERS.index(folder.split("/")[0])


def may_use(user, used):
    """May code in folder `user` use code in folder `used`?"""
    if user == used:
        return True
    lu, ld = layer(user), layer(used)
    if lu != ld:
        return ld < lu
    # Both in sections/: the sub-folder rule.
    if user in SECTIONS_SUB:
        return used in SECTIONS_SUB[user]
    return True  # sections/ itself (the registries) may use its folders


def read_manifest(path):
    src, units, cur = None, [], None
    with open(path) as f:
        for line in f:
            words = line.split(None, 2)
            if not words:
                continue
            key = words[0]
            if key == "source":
                src = words[1]
            elif key in ("library", "program"):
                cur = {"kind": key, "name": words[1], "folder": words[2].strip()
                       if len(words) > 2 else None, "objects": [], "links": []}
                units.append(cur)
            elif key == "object" and words[1].strip():
                cur["objects"] += [o for o in line.split(None, 1)[1].strip().split(";") if o]
            elif key == "link" and len(words) > 1:
                cur["links"] += [l for l in line.split(None, 1)[1].strip().split(";") if l]
    return src, units


def check_includes(src, errors):
    """Rule 1; returns the file-level include graph."""
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
    graph = {}
    for top in LAYERS:
        for dirpath, _, files in os.walk(os.path.join(src, top)):
            for name in sorted(files):
                if not name.endswith((".c", ".h", ".cpp")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, src)
                user = folder_of(rel)
                graph.setdefault(rel, set())
                with open(path, errors="replace") as f:
                    for n, line in enumerate(f, 1):
                        m = inc.match(line)
                        if not m:
                            continue
                        target = os.path.normpath(os.path.join(dirpath, m.group(1)))
                        if not os.path.exists(target):
                            target = os.path.normpath(os.path.join(src, m.group(1)))
                        if not os.path.exists(target):
                            errors.append(f"{rel}:{n}: #include \"{m.group(1)}\" not found")
                            continue
                        trel = os.path.relpath(target, src)
                        used = folder_of(trel)
                        if used is None:
                            errors.append(f"{rel}:{n}: #include \"{m.group(1)}\" leaves the "
                                          f"library folders")
                        elif not may_use(user, used):
                            errors.append(f"{rel}:{n}: #include \"{m.group(1)}\": {user}/ may "
                                          f"not include from {used}/ ({why(user, used)})")
                        graph[rel].add(trel)
    return graph


def why(user, used):
    if layer(user) != layer(used):
        return "it is a layer above"
    return "sibling folders in sections/ share only the neutral model"


def nm(obj):
    """(defined, undefined) global symbol names of one object file."""
    out = subprocess.run(["nm", "-P", obj], check=True, capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper() or kind in "uvw":
            defined.add(name)
    return defined, undefined


def source_of(obj):
    """CMakeFiles/hp_sections.dir/sections/elf/elf.c.o -> sections/elf/elf.c"""
    m = re.search(r"\.dir/(.+)\.o(bj)?$", obj.replace(os.sep, "/"))
    return m.group(1) if m else obj


def find_cycles(nodes, edges):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src, units = read_manifest(sys.argv[1])
    errors = []
    includes = check_includes(src, errors)

    libs = [u for u in units if u["kind"] == "library"]
    owner = {}  # symbol -> (library, source file)
    objsyms = {}
    for lib in libs:
        for obj in lib["objects"]:
            d, u = nm(obj)
            objsyms[obj] = (d, u)
            for s in d:
                owner.setdefault(s, (lib["name"], source_of(obj)))
    folder_lib = {lib["folder"]: lib["name"] for lib in libs}

    calls = {}  # source file -> source files it calls (same library)
    for lib in libs:
        uses = set()
        for obj in lib["objects"]:
            rel = source_of(obj)
            user = folder_of(rel)
            for s in sorted(objsyms[obj][1]):
                if s not in owner:
                    continue  # not the project's: libc, Zydis, cJSON, toml++, ...
                olib, orel = owner[s]
                used = folder_of(orel)
                if not may_use(user, used):
                    errors.append(f"{rel}: uses '{s}' from {orel}: {user}/ may not use "
                                  f"{used}/ ({why(user, used)})")
                if olib != lib["name"]:
                    uses.add(olib)
                elif orel != rel:
                    calls.setdefault(rel, set()).add(orel)
        links = {l for l in lib["links"] if l in folder_lib.values()}
        for missing in sorted(uses - links):
            errors.append(f"{lib['name']} uses symbols of {missing} but does not link it "
                          f"(target_link_libraries)")
        for extra in sorted(links - uses):
            errors.append(f"{lib['name']} links {extra} but uses none of its symbols")

    for folder in ACYCLIC:
        graph = {k: v for k, v in calls.items() if folder_of(k) == folder}
        incs = {k: {t for t in v if folder_of(t) == folder}
                for k, v in includes.items() if folder_of(k) == folder}
        for kind, g in (("call", graph), ("include", incs)):
            for comp in find_cycles(set(g) | {t for v in g.values() for t in v}, g):
                errors.append(f"{folder}/: {kind} cycle between " + ", ".join(comp))

    for prog in (u for u in units if u["kind"] == "program"):
        links = [l for l in prog["links"] if l in folder_lib.values()]
        used = set()
        for obj in prog["objects"]:
            for s in nm(obj)[1]:
                if s in owner:
                    used.add(owner[s][0])
        for extra in links:
            if extra not in used:
                errors.append(f"{prog['name']} links {extra} but calls none of its functions; "
                              f"link the library it tests (tests/CMakeLists.txt)")

    for e in errors:
        print(f"check_layers: {e}", file=sys.stderr)
    nobj = sum(len(u["objects"]) for u in units)
    if errors:
        print(f"check_layers: {len(errors)} violation(s)", file=sys.stderr)
        sys.exit(1)
    print(f"check_layers: ok ({len(includes)} files, {nobj} objects: "
          f"{' -> '.join(reversed(LAYERS))})")


if __name__ == "__main__":
    main()
