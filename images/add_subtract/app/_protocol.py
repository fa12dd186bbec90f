"""Tiny helper implementing the container process protocol.

One-shot (``main``): empty (or whitespace-only) stdin -> print the description JSON; a JSON
object on stdin -> print one JSON object of outputs. Errors go to stderr with exit status 1.

Keep-loaded (``serve``): one JSON request per line on stdin,
``{"process": NAME, "inputs": {...}}``, and one JSON answer per line on stdout,
``{"outputs": {...}}`` or ``{"error": "message"}``, for as long as stdin stays open.
"""

import json
import math
import sys


class Failure(Exception):
    """A call that cannot give outputs: the message is what the caller sees."""


class Process:
    def __init__(self, description, inputs, outputs, compute):
        self.description = description
        self.inputs = inputs
        self.outputs = outputs
        self.compute = compute

    def describe(self):
        return {"description": self.description, "inputs": self.inputs,
                "outputs": self.outputs}

    def run(self, given):
        if not isinstance(given, dict):
            raise Failure("stdin must be a JSON object")
        result = self.compute(given)
        for key, value in result.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise Failure(f"output {key!r} is not finite: {value}")
        return result


def number(inputs, key):
    if key not in inputs:
        raise Failure(f"missing input: {key!r}")
    value = inputs[key]
    # bool is a subclass of int; it is not a number here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Failure(f"input {key!r} must be a number, got {json.dumps(value)}")
    return value


def main(process):
    """Describe or run ``process`` once, from stdin."""
    text = sys.stdin.read()
    if not text.strip():
        json.dump(process.describe(), sys.stdout)
        sys.stdout.write("\n")
        return
    try:
        try:
            given = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Failure(f"stdin is not valid JSON: {exc}") from None
        result = process.run(given)
    except Failure as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


def serve(processes):
    """Answer requests for ``processes`` (name -> Process), one line each, until stdin ends."""
    for line in sys.stdin:
        try:
            request = json.loads(line)
            process = processes[request["process"]]
            answer = {"outputs": process.run(request["inputs"])}
        except Failure as exc:
            answer = {"error": str(exc)}
        except (ValueError, KeyError, TypeError) as exc:
            answer = {"error": f"bad request: {exc!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
