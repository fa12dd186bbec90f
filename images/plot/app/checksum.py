"""Process checksum: the sha256, the size and the line count of a file, read once a MiB at a
time (so any size fits in the container's memory): a pipeline's integrity check.

The protocol (see the project's README): empty stdin prints the description; a JSON object
on stdin gives one JSON object on stdout.
"""

import hashlib
import json
import sys

DESCRIPTION = {
    "description": "The sha256, size in bytes and number of lines of a file (read once, a "
                   "MiB at a time: any size).",
    "inputs": {"data": {"$file": "example.csv"}},
    "outputs": {"sha256": "", "size": 0, "lines": 0},
}


def main():
    text = sys.stdin.read()
    if not text.strip():
        json.dump(DESCRIPTION, sys.stdout)
        return 0
    given = json.loads(text)
    value = given.get("data") if isinstance(given, dict) else None
    if not (isinstance(value, dict) and isinstance(value.get("$file"), str)):
        sys.stderr.write(f"checksum: input 'data' must be a file {{\"$file\": PATH}}, got "
                         f"{json.dumps(value)}\n")
        return 1
    digest, size, lines = hashlib.sha256(), 0, 0
    with open(value["$file"], "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    json.dump({"sha256": digest.hexdigest(), "size": size, "lines": lines}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
