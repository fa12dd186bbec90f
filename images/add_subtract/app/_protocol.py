"""Tiny helper implementing the container process protocol.

Empty (or whitespace-only) stdin -> print the description JSON.
A JSON object on stdin -> print one JSON object of outputs.
Errors go to stderr with exit status 1.
"""

import json
import math
import sys


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def number(inputs, key):
    if key not in inputs:
        fail(f"missing input: {key!r}")
    value = inputs[key]
    # bool is a subclass of int; it is not a number here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"input {key!r} must be a number, got {json.dumps(value)}")
    return value


def main(description, inputs, outputs, compute):
    text = sys.stdin.read()
    if not text.strip():
        json.dump(
            {"description": description, "inputs": inputs, "outputs": outputs},
            sys.stdout,
        )
        sys.stdout.write("\n")
        return
    try:
        given = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"stdin is not valid JSON: {exc}")
    if not isinstance(given, dict):
        fail("stdin must be a JSON object")
    result = compute(given)
    for key, value in result.items():
        if isinstance(value, float) and not math.isfinite(value):
            fail(f"output {key!r} is not finite: {value}")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
