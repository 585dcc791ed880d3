#!/usr/bin/env bash
# Golden tests of the rewriter core: run.sh [--rebase] [CASE...]. See
# README.md here; the work is done by run.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The python3 on PATH may be a slow version-manager shim: prefer the system's.
py=/usr/bin/python3
[[ -x $py ]] || py=$(command -v python3)
exec "$py" "$here/run.py" "$@"
