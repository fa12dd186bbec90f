"""What output previews cost: an OutputTable of files (pictures, CSVs) against the same table
of plain numbers, rendered in the same run. Kernel-side only (no engine, no browser).

Three renders of each table, medians of ``--rounds``:
- baseline: every output a float (what a table cost before previews);
- previews, warm: the same rows, each output a file (a 640x400 PNG like plot_csv's, or a
  CSV), the previews already rendered once (a table re-renders on every node that finishes);
- previews, cold: the preview cache emptied before each render (the first time a file shows).
Target: a warm re-render of a table of files <= 3x the plain table of the same size. The
cold cost per picture is printed in ms (Pillow decode + re-encode when downscaled).

    .venv/bin/python benchmarks/bench_previews.py [--rows 48] [--large 1000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from containerdag_widgets.widgets import previews  # noqa: E402
from containerdag_widgets.widgets.output_table import OutputTable  # noqa: E402


def make_files(folder: Path, n: int) -> list[dict]:
    """``n`` file outputs, alternately a plot-like PNG and a CSV, each with its own content."""
    out = []
    for i in range(n):
        if i % 2 == 0:
            image = Image.new("RGB", (640, 400), "white")
            draw = ImageDraw.Draw(image)
            draw.line([(40 + 5 * k, 200 + ((k * (i + 3)) % 150)) for k in range(110)],
                      fill=(148, 0, 211), width=2)
            path = folder / f"plot {i}.png"
            image.save(path)
        else:
            path = folder / f"series {i}.csv"
            path.write_text("t,value\n" + "".join(f"{k},{(k * i) % 17}\n" for k in range(200)))
        out.append({"$file": str(path)})
    return out


def timed(table: OutputTable, outputs: dict, rounds: int, cold: bool) -> float:
    samples = []
    for _ in range(rounds):
        if cold:
            previews._file_html.cache_clear()
        table.outputs = {}
        start = time.perf_counter()
        table.outputs = outputs
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=48, help="outputs in the small table")
    parser.add_argument("--large", type=int, default=1000, help="outputs in the large table")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(Path(tmp), max(args.rows, args.large))
        for label, n in (("small", args.rows), ("large", args.large)):
            table = OutputTable(max_previews=24)
            plain = {f"n{i}": {"out": float(i)} for i in range(n)}
            rich = {f"n{i}": {"out": files[i]} for i in range(n)}
            base = timed(table, plain, args.rounds, cold=False)
            timed(table, rich, 1, cold=True)  # fill the cache
            warm = timed(table, rich, args.rounds, cold=False)
            html_bytes = len(table.value)
            cold = timed(table, rich, args.rounds, cold=True)
            table.close()
            full = min(n, 24)
            results[label] = {
                "outputs": n, "full_previews": full, "baseline_ms": base * 1e3,
                "warm_ms": warm * 1e3, "cold_ms": cold * 1e3, "warm_ratio": warm / base,
                "cold_ms_per_full_preview": (cold - warm) * 1e3 / full,
                "html_kib": html_bytes / 1024, "target_met": warm / base <= 3.0,
            }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'table':<7}{'outputs':>8}{'plain ms':>10}{'warm ms':>9}{'ratio':>7}"
          f"{'cold ms':>9}{'ms/preview':>11}{'HTML KiB':>10}  target (warm <= 3x plain)")
    for label, r in results.items():
        print(f"{label:<7}{r['outputs']:>8}{r['baseline_ms']:>10.2f}{r['warm_ms']:>9.2f}"
              f"{r['warm_ratio']:>6.2f}x{r['cold_ms']:>9.1f}{r['cold_ms_per_full_preview']:>11.2f}"
              f"{r['html_kib']:>10.0f}  {'MET' if r['target_met'] else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
