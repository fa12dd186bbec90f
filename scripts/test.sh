#!/usr/bin/env bash
# Set up (scripts/lib.sh), then run the test suite and the linter.
# Usage: scripts/test.sh [PYTEST ARGS...]   (default: tests)
# Exit status: pytest's if it failed, else ruff's.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$CDW_ROOT"
cdw_setup

export CONTAINERDAG_REQUIRE_DOCKER=1
[ "$#" -gt 0 ] || set -- tests

# The one pytest invocation (add nbval arguments here).
run_pytest() { "$CDW_VENV/bin/python" -m pytest "$@"; }

rc=0
run_pytest "$@" || rc=$?
ruff_rc=0
"$CDW_VENV/bin/ruff" check . || ruff_rc=$?
if [ "$rc" -eq 0 ]; then
    rc=$ruff_rc
fi
exit "$rc"
