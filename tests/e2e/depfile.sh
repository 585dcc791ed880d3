#!/usr/bin/env bash
# `--depfile FILE` and `--print-deps RULES`, the two ways hookpatch tells a
# build system what a patch run reads:
#   - the depfile's exact text (objects once, absolute, escaped as gcc
#     escapes them, an empty rule for each), and that Ninja's and GNU make's
#     parsers read the names back: touching the object makes both patch
#     again;
#   - --print-deps lists objects once, also ones not built yet;
#   - the refusals: a depfile naming IN, OUT, RULES or an object; a name a
#     depfile cannot hold; --depfile with --dry-run; a failed run writes
#     neither the depfile nor OUT, and IN is never touched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

W=$HP_WORK
EX=$HP_SRC/examples/cmake
cd "$W"
cc -O2 -o app "$EX/app.c" "$EX/sensor.c"
# A directory and an object whose names need escaping in a depfile.
obj_dir='my mocks'
obj_name='cold#1$.o'
mkdir -p "$obj_dir"
cc -O2 -fPIC -c "$EX/mocks/sensor_mock.c" -o "$obj_dir/$obj_name"
# Two hooks use the one object: it is listed once.
cat >rules.toml <<EOF
[[hook]]
target = "read_temperature"
object = "$obj_dir/$obj_name"
symbol = "fake_temperature"

[[hook]]
target = "current_year"
object = "$obj_dir/$obj_name"
symbol = "fake_temperature"
EOF
abs_obj="$W/$obj_dir/$obj_name"
esc_obj="$W/my\\ mocks/cold\\#1\$\$.o"

# ---- the depfile
hp --depfile app.hooked.d app app.hooked rules.toml
run_prog ./app.hooked
check_eq "depfile: the patch run succeeds and the output runs" "0|12: 12 degrees, heating on" \
    "$HP_RC|$RUN_OUT"
expected="app.hooked: \\
  app \\
  rules.toml \\
  $esc_obj

$esc_obj:"
check_eq "depfile: exact text" "$expected" "$(cat app.hooked.d)"
check_eq "depfile: no temporary file left" "" "$(temp_files "$W")"

# Ninja reads the escaped names back: `ninja -t deps` prints them as they are,
# and touching the object makes it patch again.
mkdir -p ninja
cat >ninja/build.ninja <<EOF
rule patch
  command = $HOOKPATCH -q --depfile \$out.d \$in \$out $W/rules.toml
  depfile = \$out.d
  deps = gcc
build out.hooked: patch $W/app
EOF
(cd ninja && ninja >log1 2>&1) || fail "ninja: first build" "$(cat ninja/log1)"
check_eq "ninja: reads the object's name back from the depfile" "1" \
    "$(cd ninja && ninja -t deps out.hooked | grep -cxF "    $abs_obj")"
(cd ninja && ninja >log2 2>&1)
check_eq "ninja: nothing changed: no work" "1" "$(grep -c 'no work to do' ninja/log2)"
touch "$obj_dir/$obj_name"
(cd ninja && ninja >log3 2>&1)
check_eq "ninja: the object touched: patched again" "1" "$(grep -c '^\[1/1\]' ninja/log3)"

# GNU make reads them too.
mkdir -p make
printf 'out.hooked: %s\n\t%s -q --depfile $@.d $< $@ %s\n-include out.hooked.d\n' \
    "$W/app" "$HOOKPATCH" "$W/rules.toml" >make/Makefile
make -C make >make/log1 2>&1 || fail "make: first build" "$(cat make/log1)"
make -C make >make/log2 2>&1
check_eq "make: nothing changed: up to date" "1" "$(grep -c 'up to date\|Nothing to be done' make/log2)"
touch "$obj_dir/$obj_name"
make -C make >make/log3 2>&1 || fail "make: rebuild" "$(cat make/log3)"
check_eq "make: the object touched: patched again" "1" "$(grep -c -- '--depfile' make/log3)"
# The object dropped from the rules and deleted: the empty rule keeps make
# from stopping at "No rule to make target".
cp rules.toml rules.keep
printf '[[hook]]\ntarget = "current_year"\naction = "return"\nvalue = 7\n' >rules.toml
mv "$obj_dir/$obj_name" "$obj_dir/moved.o"
rc=0
make -C make >make/log4 2>&1 || rc=$?
check_eq "make: an object gone from rules and disk: patched again, no error" "0|1" \
    "$rc|$(grep -c -- '--depfile' make/log4)"
mv "$obj_dir/moved.o" "$obj_dir/$obj_name"
cp rules.keep rules.toml

# ---- --print-deps
hp --print-deps rules.toml
check_eq "print-deps: each object once, absolute" \
    "0|$abs_obj|" "$HP_RC|$HP_OUT|$HP_ERR"
printf '[[hook]]\ntarget = "read_temperature"\nobject = "later/not-built-yet.o"\nsymbol = "f"\n[[hook]]\ntarget = "x"\naction = "trap"\n' >later.toml
hp --print-deps later.toml
check_eq "print-deps: an object not built yet is listed" "0|$W/later/not-built-yet.o" "$HP_RC|$HP_OUT"
hp app later.out later.toml
check_eq "print-deps: ... while a patch run refuses it" "1|no" \
    "$HP_RC|$([[ -e later.out ]] && echo yes || echo no)"
printf '[[hook]]\ntarget = "a"\nobject = 3\n' >bad.toml
hp --print-deps bad.toml
check_eq "print-deps: a rules error: exit 1, its location, nothing on stdout" "1||1" \
    "$HP_RC|$HP_OUT|$(grep -c '^hookpatch: error: bad.toml:3:10: ' <<<"$HP_ERR")"
hp --print-deps
check_eq "print-deps: no RULES is a usage error" "2" "$HP_RC"
hp --print-deps --json rules.toml
check_eq "print-deps: with --json is a usage error" "2" "$HP_RC"

# ---- refusals
sum=$(sha app)
rm -f app.hooked app.hooked.d
for what in app rules.toml "$obj_dir/$obj_name" app.hooked ./app.hooked "$W/app"; do
    hp --depfile "$what" app app.hooked rules.toml
    check_eq "depfile '$what': refused, nothing written, IN untouched" "1|1|no|$sum" \
        "$HP_RC|$(grep -c "refusing to overwrite it" <<<"$HP_ERR")|$([[ -e app.hooked ]] && echo yes || echo no)|$(sha app)"
done
ln -s app app-link
hp --depfile app-link app app.hooked rules.toml
check_eq "depfile: a link to IN is IN: refused" "1|$sum" "$HP_RC|$(sha app)"
hp --depfile x.d --dry-run app app.hooked rules.toml
check_eq "depfile: with --dry-run is a usage error" "2|no" "$HP_RC|$([[ -e x.d ]] && echo yes || echo no)"
hp --depfile
check_eq "depfile: without a name is a usage error" "2" "$HP_RC"
nl_out=$'app\nhooked'
hp --depfile nl.d app "$nl_out" rules.toml
check_eq "depfile: OUT with a line break cannot be listed: refused before writing" "1|no|no|1" \
    "$HP_RC|$([[ -e $nl_out ]] && echo yes || echo no)|$([[ -e nl.d ]] && echo yes || echo no)|$(grep -c 'line break' <<<"$HP_ERR")"
printf '[[hook]]\ntarget = "no_such_function"\naction = "trap"\n' >unres.toml
hp --depfile unres.d app unres.out unres.toml
check_eq "depfile: a failed run writes neither the depfile nor OUT" "1|no|no" \
    "$HP_RC|$([[ -e unres.d ]] && echo yes || echo no)|$([[ -e unres.out ]] && echo yes || echo no)"
hp --depfile=eq.d app eq.out rules.toml
check_eq "depfile: --depfile=FILE works too" "0|app.hooked: \\" \
    "$HP_RC|$(head -1 eq.d | sed 's/^eq\.out/app.hooked/')"

e2e_finish
