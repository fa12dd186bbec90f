#!/usr/bin/env bash
# Set up (scripts/lib.sh), then run the test suite and the linter.
# Usage: scripts/test.sh [PYTEST ARGS...]   (default: tests notebooks)
# Exit status: pytest's if it failed, else ruff's.
#
# CONTAINERDAG_COVERAGE=1 measures line coverage of containerdag_widgets, in the tests and in
# every Python subprocess they start (the CLI, kernels, Dask workers: pyproject's
# [tool.coverage.run] patch = subprocess), and prints the total at the end. Opt-in: it made
# the tests about 30% slower (a measured subset: 18.0 s -> 23.5 s).
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
    local runner=("$CDW_VENV/bin/python")
    if [ "${CONTAINERDAG_COVERAGE:-0}" = 1 ]; then
        runner+=(-m coverage run --rcfile="$CDW_ROOT/pyproject.toml")
    fi
    "${runner[@]}" -m pytest --nbval --nbval-current-env \
        --nbval-sanitize-with notebooks/nbval-sanitize.cfg "$@"
}

if [ "${CONTAINERDAG_COVERAGE:-0}" = 1 ]; then
    # Each process writes its own data file here (parallel = true); combined at the end.
    COVERAGE_FILE="$CONTAINERDAG_CACHE_DIR/coverage/.coverage"
    COVERAGE_RCFILE="$CDW_ROOT/pyproject.toml"
    export COVERAGE_FILE COVERAGE_RCFILE
    mkdir -p "$(dirname "$COVERAGE_FILE")"
fi

rc=0
run_pytest "$@" || rc=$?
if [ "${CONTAINERDAG_COVERAGE:-0}" = 1 ]; then
    "$CDW_VENV/bin/python" -m coverage combine -q "$(dirname "$COVERAGE_FILE")" || true
    "$CDW_VENV/bin/python" -m coverage report --skip-covered --sort=cover | tail -n 25 || true
    printf 'coverage (tests and their Python subprocesses): %s%%\n' \
        "$("$CDW_VENV/bin/python" -m coverage report --format=total)"
fi
rm -rf "$CONTAINERDAG_CACHE_DIR"
ruff_rc=0
"$CDW_VENV/bin/ruff" check . || ruff_rc=$?
if [ "$rc" -eq 0 ]; then
    rc=$ruff_rc
fi
exit "$rc"
