#!/usr/bin/env bash
# Re-execute the example notebooks in place (after a change of what they print), so nbval
# compares the next test run against fresh outputs. Usage: scripts/execute_notebooks.sh [NB...]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$CDW_ROOT"
CONTAINERDAG_SKIP_BROWSER=1 cdw_setup
[ "$#" -gt 0 ] || set -- notebooks/*.ipynb
for nb in "$@"; do
    cdw_log "executing $nb"
    # An empty result cache per notebook, as under nbval (notebooks/conftest.py).
    cache="$(mktemp -d)"
    (cd "$(dirname "$nb")" && CONTAINERDAG_CACHE_DIR="$cache" "$CDW_VENV/bin/jupyter" \
        nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=300 \
        "$(basename "$nb")")
    rm -rf "$cache"
done
