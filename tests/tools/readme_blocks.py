#!/usr/bin/env python3
"""Fenced code blocks of a Markdown file, for tests/e2e/readme_examples.sh.

Every fenced block (``` at any indentation) must be preceded, on the line
just before its opening fence, by one HTML comment that says what it is:

    <!-- example: NAME -->            run by the test suite under NAME
    <!-- fragment: WHY -->            deliberately not run, and why

so that a block added to the README without a test is an error, not a
silently untested example.

    readme_blocks.py FILE list        LINE KIND LANG NAME-OR-WHY, one a line;
                                      an unmarked block is KIND "unmarked"
    readme_blocks.py FILE get NAME    the text of the block NAME, with the
                                      fence's indentation removed
Exit status 1 (with a message on stderr) for a NAME that is missing or
used twice, or an unterminated fence.
"""
import re
import sys

MARK = re.compile(r"^\s*<!--\s*(example|fragment):\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")


def blocks(path):
    """Yield (line, kind, lang, name, text) for each fenced block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i
        kind, name = "unmarked", "-"
        mark = MARK.match(lines[i - 1]) if i > 0 else None
        if mark:
            kind, name = mark.group(1), mark.group(2)
        body = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        if i == len(lines):
            sys.exit(f"{path}:{start + 1}: the fence opened here is not closed")
        i += 1
        yield start + 1, kind, lang or "-", name, "\n".join(body) + "\n"


def main(argv):
    if len(argv) < 3 or argv[2] not in ("list", "get") or (argv[2] == "get") != (len(argv) == 4):
        sys.exit("usage: readme_blocks.py FILE list | FILE get NAME")
    path, cmd = argv[1], argv[2]
    found = list(blocks(path))
    if cmd == "list":
        for line, kind, lang, name, _ in found:
            print(f"{line} {kind} {lang} {name}")
        return 0
    hits = [b for b in found if b[1] == "example" and b[3] == argv[3]]
    if len(hits) != 1:
        sys.exit(f"{path}: {len(hits)} blocks named '{argv[3]}' (want exactly one)")
    sys.stdout.write(hits[0][4])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
