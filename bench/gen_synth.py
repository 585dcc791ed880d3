#!/usr/bin/env python3
"""Generate a C program with N small hookable functions.

    gen_synth.py N DIR [PAD_MB]

Writes DIR/f_K.c (up to 5000 functions each, so make -j can use both
cores), DIR/main.c and, with PAD_MB > 0, DIR/pad.S, which puts PAD_MB MiB of
DIR/pad.bin (random bytes, made here) in .rodata so the file size grows
without more functions. Every function is about 25 bytes at -O1 (well over
the 5-byte jump) and distinct, so no two fold together. main calls f0 only
through a volatile pointer, so start-up of the program is just the loader."""
import os
import sys

CHUNK = 5000


def main():
    n = int(sys.argv[1])
    d = sys.argv[2]
    pad_mb = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    os.makedirs(d, exist_ok=True)
    srcs = []
    for c in range(0, n, CHUNK):
        path = os.path.join(d, f"f_{c // CHUNK}.c")
        with open(path, "w") as f:
            for k in range(c, min(n, c + CHUNK)):
                f.write(f"long f{k}(long a, long b) "
                        f"{{ return (a ^ {k * 2654435761 % 2147483647}L) * b + (a >> 3) + {k}L; }}\n")
        srcs.append(path)
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write("long f0(long, long);\n"
                "long (*volatile fp)(long, long) = f0;\n"
                "extern const unsigned char pad_data[];\n"
                "const unsigned char *volatile padp;\n"
                "int main(void) { padp = pad_data; return (int)(fp(1, 2) & 0); }\n")
    with open(os.path.join(d, "pad.S"), "w") as f:
        f.write('\t.section .rodata.pad,"a"\n\t.globl pad_data\n\t.type pad_data,@object\n'
                'pad_data:\n')
        if pad_mb:
            f.write('\t.incbin "pad.bin"\n')
        f.write('\t.byte 0\n\t.section .note.GNU-stack,"",@progbits\n')
    if pad_mb:
        with open(os.path.join(d, "pad.bin"), "wb") as f:
            for _ in range(pad_mb):
                f.write(os.urandom(1 << 20))
    with open(os.path.join(d, "Makefile"), "w") as f:
        objs = " ".join(os.path.basename(s)[:-2] + ".o" for s in srcs)
        f.write(f"CC ?= cc\nprog: main.o pad.o {objs}\n\t$(CC) -o $@ $^\n"
                "%.o: %.c\n\t$(CC) -O1 -c -o $@ $<\n"
                "pad.o: pad.S\n\t$(CC) -c -o $@ $<\n")


if __name__ == "__main__":
    main()
