#!/usr/bin/env bash
# (sourced, not run)
# Shared set-up steps for scripts/setup.sh, scripts/test.sh and scripts/demo.sh.
#
# Source this file, then call `cdw_setup` (or single steps). If a step starts
# a Docker Engine, the EXIT trap installed here stops exactly that engine
# (by PID) when the calling script exits; an engine that was already running
# is never touched.
#
# Environment:
#   CONTAINERDAG_SKIP_BROWSER=1   skip the Chromium step (same as `cdw_setup --no-browser`)
#   CONTAINERDAG_PULL_TIMEOUT=N   seconds to try `docker pull` of the base image (default 20)

CDW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CDW_VENV="$CDW_ROOT/.venv"
CDW_CACHE="$CDW_ROOT/.cache"
CDW_BASE_IMAGE="debian:bookworm-slim"
CDW_DOCKERD_PID=""      # set only when we started dockerd ourselves
CDW_APT_UPDATED=""
CDW_ROOTFS=""           # debootstrap scratch dir, removed on exit

cdw_log() { printf '[setup] %s\n' "$*"; }
cdw_die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# apt-get install packages (root on Debian only); `apt-get update` runs once.
cdw_apt_install() {
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        cdw_die "need to install $*, but this is not root on Debian; install it by hand"
    fi
    if [ -z "$CDW_APT_UPDATED" ]; then
        cdw_log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        CDW_APT_UPDATED=1
    fi
    cdw_log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- Python
cdw_setup_python() {
    local stamp="$CDW_VENV/.containerdag-installed"
    if [ ! -x "$CDW_VENV/bin/python" ]; then
        if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
            cdw_apt_install python3-venv
        fi
        cdw_log "creating $CDW_VENV"
        python3 -m venv "$CDW_VENV"
    fi
    if [ -f "$stamp" ] && [ "$stamp" -nt "$CDW_ROOT/pyproject.toml" ]; then
        cdw_log "Python packages: up to date"
        return 0
    fi
    mkdir -p "$CDW_CACHE"
    local log="$CDW_CACHE/pip.log"
    cdw_log "pip install -e '.[test]' (log: ${log#"$CDW_ROOT"/})"
    if ! "$CDW_VENV/bin/python" -m pip install -e "${CDW_ROOT}[test]" >"$log" 2>&1; then
        tail -n 30 "$log" >&2 || true
        cdw_die "pip install failed (log: $log)"
    fi
    touch "$stamp"
}

# ---------------------------------------------------------------- Docker Engine
cdw_docker_answers() { docker info >/dev/null 2>&1; }

# Wait up to $1 seconds for `docker info`; fail early if PID $2 (optional) dies.
cdw_wait_docker() {
    local timeout="$1" pid="${2:-}" i
    for ((i = 0; i < timeout * 4; i++)); do
        cdw_docker_answers && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.25
    done
    return 1
}

cdw_setup_docker() {
    if command -v docker >/dev/null 2>&1 && cdw_docker_answers; then
        cdw_log "Docker Engine: already running"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
        cdw_apt_install docker.io
    fi
    # An engine that is running but not answering yet (starting up): wait for it.
    local pidfile=/var/run/docker.pid
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
        cdw_log "Docker Engine: a dockerd is running, waiting for it"
        cdw_wait_docker 60 || cdw_die "the running dockerd does not answer \`docker info\`"
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || cdw_die "no Docker Engine answers and only root can start dockerd"
    mkdir -p "$CDW_CACHE"
    local log="$CDW_CACHE/dockerd.log"
    cdw_log "Docker Engine: starting dockerd (log: ${log#"$CDW_ROOT"/})"
    # setsid: a Ctrl-C in the terminal must not reach dockerd; the EXIT trap
    # stops it after the tests' containers are done.
    setsid dockerd >"$log" 2>&1 </dev/null &
    CDW_DOCKERD_PID=$!
    if ! cdw_wait_docker 60 "$CDW_DOCKERD_PID"; then
        tail -n 20 "$log" >&2 || true
        cdw_die "dockerd did not answer \`docker info\` within 60 s"
    fi
    cdw_log "Docker Engine: ready (dockerd PID $CDW_DOCKERD_PID)"
}

# Stop the dockerd this shell started (never any other one).
cdw_stop_docker() {
    local pid="$CDW_DOCKERD_PID" i
    [ -n "$pid" ] || return 0
    CDW_DOCKERD_PID=""
    if kill -0 "$pid" 2>/dev/null; then
        cdw_log "stopping the dockerd this script started (PID $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 120; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        if kill -0 "$pid" 2>/dev/null; then
            cdw_log "dockerd (PID $pid) still running after 30 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- base image
cdw_remove_rootfs() {
    local dir="$CDW_ROOTFS" mnt
    [ -n "$dir" ] || return 0
    CDW_ROOTFS=""
    [ -d "$dir" ] || return 0
    # debootstrap unmounts /proc and /sys itself, but if it was interrupted,
    # unmount anything still mounted inside before deleting.
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
    rm -rf --one-file-system "$dir"
}

cdw_setup_base_image() {
    if docker image inspect "$CDW_BASE_IMAGE" >/dev/null 2>&1; then
        cdw_log "base image $CDW_BASE_IMAGE: present"
        return 0
    fi
    local pull_timeout="${CONTAINERDAG_PULL_TIMEOUT:-20}"
    cdw_log "base image $CDW_BASE_IMAGE: trying docker pull (${pull_timeout} s)"
    if timeout "$pull_timeout" docker pull -q "$CDW_BASE_IMAGE" >/dev/null 2>&1; then
        cdw_log "base image $CDW_BASE_IMAGE: pulled"
        return 0
    fi
    cdw_log "base image $CDW_BASE_IMAGE: pull failed; building it with debootstrap (about 30 s)"
    command -v debootstrap >/dev/null 2>&1 || cdw_apt_install debootstrap
    [ "$(id -u)" -eq 0 ] || cdw_die "debootstrap needs root"
    CDW_ROOTFS="$(mktemp -d "${TMPDIR:-/tmp}/containerdag-rootfs.XXXXXX")"
    local log="$CDW_CACHE/debootstrap.log"
    mkdir -p "$CDW_CACHE"
    if ! debootstrap --variant=minbase bookworm "$CDW_ROOTFS" >"$log" 2>&1; then
        tail -n 20 "$log" >&2 || true
        cdw_remove_rootfs
        cdw_die "debootstrap failed (log: $log)"
    fi
    # Like the published image: no package lists or cached .debs.
    rm -rf "$CDW_ROOTFS"/var/lib/apt/lists/* "$CDW_ROOTFS"/var/cache/apt/archives/*.deb
    tar -C "$CDW_ROOTFS" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        - "$CDW_BASE_IMAGE" >/dev/null
    cdw_remove_rootfs
    cdw_log "base image $CDW_BASE_IMAGE: imported"
}

# ---------------------------------------------------------------- Node.js
# cwltool evaluates CWL tools' JavaScript expressions with Node.js (Registry.add_cwl).
cdw_setup_nodejs() {
    if command -v node >/dev/null 2>&1 || command -v nodejs >/dev/null 2>&1; then
        cdw_log "Node.js: present"
        return 0
    fi
    cdw_apt_install nodejs
}

# ---------------------------------------------------------------- Chromium
cdw_setup_chromium() {
    if [ -x /usr/bin/chromium ]; then
        cdw_log "Chromium: present"
        return 0
    fi
    cdw_apt_install chromium
}

# ---------------------------------------------------------------- example images
cdw_build_images() {
    cdw_log "building example images"
    "$CDW_VENV/bin/python" "$CDW_ROOT/scripts/build_images.py"
}

# ---------------------------------------------------------------- everything
# Usage: cdw_setup [--no-browser]
# shellcheck disable=SC2120  # the argument is optional
cdw_setup() {
    local browser=1
    [ "${CONTAINERDAG_SKIP_BROWSER:-}" = 1 ] && browser=0
    [ "${1:-}" = "--no-browser" ] && browser=0
    cdw_setup_python
    cdw_setup_nodejs
    cdw_setup_docker
    cdw_setup_base_image
    if [ "$browser" = 1 ]; then
        cdw_setup_chromium
    fi
    cdw_build_images
    cdw_log "done"
}

cdw_cleanup() {
    trap '' INT TERM  # finish stopping the engine even on a second Ctrl-C
    cdw_remove_rootfs
    cdw_stop_docker
}

trap cdw_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
