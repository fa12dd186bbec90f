#!/usr/bin/env bash
# Set up (without the browser), then open the example notebooks in JupyterLab.
# Usage: scripts/lab.sh [EXTRA JUPYTER LAB ARGS...]
# A Docker Engine this script had to start keeps running while JupyterLab runs and is
# stopped when JupyterLab exits (Ctrl-C twice). Containers of the notebooks' registries are
# removed when their kernels stop.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$CDW_ROOT"
cdw_setup --no-browser

extra=()
[ "$(id -u)" -eq 0 ] && extra+=(--allow-root)
rc=0
"$CDW_VENV/bin/jupyter" lab --notebook-dir="$CDW_ROOT/notebooks" "${extra[@]}" "$@" || rc=$?
exit "$rc"
