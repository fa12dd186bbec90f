"""Process plot_csv: column y of a CSV (or TSV) file against column x, drawn by gnuplot as PNG.

The protocol (see the project's README): empty stdin prints the description; a JSON object
on stdin gives one JSON object on stdout. Input files arrive as ``{"$file": PATH}``; the PNG
is written under ``$CONTAINERDAG_OUTPUT_DIR`` and returned the same way. gnuplot runs as an
argv list with its script on stdin (no shell); nothing is written outside that directory.
"""

import csv
import json
import os
import subprocess
import sys

DESCRIPTION = {
    "description": "Plot column y of a CSV/TSV file against column x with gnuplot (PNG, "
                   "640x400). Columns count from 1; x = 0 is the row number. A first row "
                   "that is not numeric is a header: it names the axes.",
    "inputs": {"data": {"$file": "example.csv"}, "title": "measurements", "x": 1, "y": 2},
    "outputs": {"plot": {"$file": "plot.png"}},
}
WIDTH, HEIGHT = 640, 400


class Failure(Exception):
    """A call that cannot give outputs: the message is what the caller sees."""


def quoted(text):
    """A gnuplot single-quoted string (no escapes inside but '' for ')."""
    return "'" + str(text).replace("\n", " ").replace("'", "''") + "'"


def column(given, key):
    value = given.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Failure(f"input {key!r} must be a column number (1, 2, ...; 0 = row number), "
                      f"got {json.dumps(value)}")
    return value


def data_path(given):
    value = given.get("data")
    if not (isinstance(value, dict) and isinstance(value.get("$file"), str)):
        raise Failure(f'input \'data\' must be a file {{"$file": PATH}}, got {json.dumps(value)}')
    path = value["$file"]
    if not os.path.isfile(path):
        raise Failure(f"input 'data': no file at {path!r}")
    return path


def header(path):
    """The separator, the first row's fields and whether that row is a header."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    if not first.strip():
        raise Failure(f"input 'data': {os.path.basename(path)!r} is empty")
    sep = "\t" if "\t" in first and "," not in first else ","
    fields = next(csv.reader([first], delimiter=sep))
    try:
        [float(f) for f in fields if f.strip()]
        return sep, fields, False
    except ValueError:
        return sep, fields, True


def script(path, out, title, x, y, sep, fields, named):
    def label(n):
        return fields[n - 1] if named and n else ("row" if n == 0 else f"column {n}")

    return "\n".join([
        f"set terminal pngcairo noenhanced size {WIDTH},{HEIGHT} font 'DejaVu Sans,10'",
        f"set output {quoted(out)}",
        f"set datafile separator {'tab' if sep == chr(9) else 'comma'}",
        f"set title {quoted(title)}",
        f"set xlabel {quoted(label(x))}",
        f"set ylabel {quoted(label(y))}",
        "set grid",
        "unset key",
        f"plot {quoted(path)} {'skip 1 ' if named else ''}using {x}:{y} "
        "with linespoints linewidth 2 pointtype 7 pointsize 0.6",
        "",
    ])


def run(given):
    if not isinstance(given, dict):
        raise Failure("stdin must be a JSON object")
    path = data_path(given)
    x, y = column(given, "x"), column(given, "y")
    if y == 0:
        raise Failure("input 'y' must be a column number (1, 2, ...), got 0")
    title = given.get("title", "")
    if not isinstance(title, str):
        raise Failure(f"input 'title' must be a string, got {json.dumps(title)}")
    sep, fields, named = header(path)
    for key, n in (("x", x), ("y", y)):
        if n > len(fields):
            raise Failure(f"input {key!r} is column {n}, but {os.path.basename(path)!r} has "
                          f"{len(fields)} column(s): {', '.join(fields)}")
    outdir = os.environ.get("CONTAINERDAG_OUTPUT_DIR")
    if not outdir:
        raise Failure("CONTAINERDAG_OUTPUT_DIR is not set: this process writes its PNG there")
    out = os.path.join(outdir, "plot.png")
    done = subprocess.run(["gnuplot"], input=script(path, out, title, x, y, sep, fields, named),
                          text=True, stdout=sys.stderr, stderr=sys.stderr, check=False)
    if done.returncode != 0 or not os.path.isfile(out):
        raise Failure(f"gnuplot exited with code {done.returncode} and wrote no PNG")
    return {"plot": {"$file": out}}


def main():
    text = sys.stdin.read()
    if not text.strip():
        print(json.dumps(DESCRIPTION))
        return
    try:
        try:
            given = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Failure(f"stdin is not valid JSON: {exc}") from None
        result = run(given)
    except Failure as exc:
        print(f"plot_csv: {exc}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
