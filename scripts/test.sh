#!/usr/bin/env bash
# Set up (scripts/lib.sh), then run the test suite and the linter.
# Usage: scripts/test.sh [PYTEST ARGS...]   (default: tests)
# Exit status: pytest's if it failed, else ruff's.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$CDW_ROOT"
cdw_setup

# Docker and browser tests fail, never skip, when their engine or browser is missing.
export CONTAINERDAG_REQUIRE_DOCKER=1 CONTAINERDAG_REQUIRE_BROWSER=1
# The tests' result cache and run history: never the user's, never a previous run's.
CONTAINERDAG_CACHE_DIR="$(mktemp -d -t containerdag-tests-XXXXXX)"
export CONTAINERDAG_CACHE_DIR
[ "$#" -gt 0 ] || set -- tests notebooks

# The one pytest invocation: the tests, and the example notebooks under nbval (outputs
# compared, random values and IDs sanitized by notebooks/nbval-sanitize.cfg).
run_pytest() {
    "$CDW_VENV/bin/python" -m pytest --nbval --nbval-current-env \
        --nbval-sanitize-with notebooks/nbval-sanitize.cfg "$@"
}

rc=0
run_pytest "$@" || rc=$?
rm -rf "$CONTAINERDAG_CACHE_DIR"
ruff_rc=0
"$CDW_VENV/bin/ruff" check . || ruff_rc=$?
if [ "$rc" -eq 0 ]; then
    rc=$ruff_rc
fi
exit "$rc"
