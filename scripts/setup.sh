#!/usr/bin/env bash
# Prepare everything the tests and the demo need: the Python venv, a Docker
# Engine, the base image, Chromium and the example images. Idempotent.
# Usage: scripts/setup.sh [--no-browser]
# A Docker Engine this script had to start is stopped again when it exits
# (the built images stay in the engine's storage).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$CDW_ROOT"
cdw_setup "$@"
