#!/usr/bin/env bash
# Set up (without the browser), then run the seed graph with the CLI.
# Usage: scripts/demo.sh [EXTRA CLI ARGS...]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$CDW_ROOT"
cdw_setup --no-browser

rc=0
"$CDW_VENV/bin/containerdag" run examples/seed_graph.yaml "$@" || rc=$?
exit "$rc"
