#!/usr/bin/env python3
"""Build the example images: every images/<dir>/ becomes containerdag/<dir>:latest.

images/runner/ is not a process image: it builds the resident runner (a static C program)
that the toolkit mounts, read-only, in every warm container.

Usage: build_images.py [DIR ...]   (default: every directory under images/)

Builds through the docker-py SDK (the engine here has no BuildKit). Build
output is shown only when a build fails; then the tail of the log is printed
and the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import docker
from docker.errors import APIError, BuildError, DockerException

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "images"
TAIL_LINES = 60


def image_dirs() -> list[str]:
    return sorted(p.name for p in IMAGES.iterdir() if (p / "Dockerfile").is_file())


def log_lines(chunks) -> list[str]:
    """Turn the SDK's build log chunks into text lines."""
    text = []
    for chunk in chunks or []:
        if not isinstance(chunk, dict):
            continue
        if "stream" in chunk:
            text.append(chunk["stream"])
        elif "error" in chunk:
            text.append(chunk["error"] + "\n")
        elif "status" in chunk:
            text.append(chunk["status"] + "\n")
    return "".join(text).splitlines()


def build(client: docker.DockerClient, name: str) -> bool:
    tag = f"containerdag/{name}:latest"
    start = time.monotonic()
    try:
        image, _logs = client.images.build(path=str(IMAGES / name), tag=tag, rm=True, forcerm=True)
    except BuildError as exc:
        lines = log_lines(exc.build_log)
        print(f"[build] {tag}: FAILED: {exc.msg}", file=sys.stderr)
        print(f"[build] last {TAIL_LINES} lines of the build log:", file=sys.stderr)
        for line in lines[-TAIL_LINES:]:
            print(f"    {line}", file=sys.stderr)
        return False
    except APIError as exc:
        print(f"[build] {tag}: FAILED: {exc}", file=sys.stderr)
        return False
    print(f"[build] {tag}: {image.short_id} ({time.monotonic() - start:.1f} s)")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="image directories to build (default: all)")
    args = parser.parse_args(argv)

    available = image_dirs()
    names = args.names or available
    unknown = [n for n in names if n not in available]
    if unknown:
        print(
            f"[build] unknown image dir(s): {', '.join(unknown)}; "
            f"available: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2

    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        print(f"[build] cannot reach the Docker Engine: {exc}", file=sys.stderr)
        return 1

    failed = [n for n in names if not build(client, n)]
    client.close()
    if failed:
        print(f"[build] failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
