"""Turn one ``make bench`` run's figures into its record, table and chart.

Reads the JSON lines the benchmarks appended to ``EHCERT_BENCH_OUT`` (``bench/harness.py``)
and writes:

- ``bench/results/<date>.json``: the machine and every figure with its baseline and ratio;
- the table between the ``<!-- figures -->`` markers of ``docs/benchmarks.md``;
- ``bench/results/<date>.png``: a bar chart of the ratios, with the targets marked.

The chart is drawn with matplotlib (the ``bench`` extra): the one plotting library every
reader of a benchmark knows; nothing else in ehcert draws charts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import machine

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- figures -->", "<!-- /figures -->"


def table(figures: list[dict[str, object]], measured: dict[str, object], day: str) -> str:
    lines = [
        BEGIN,
        f"Run of {day} on {measured['cores']} cores ({measured['cpu']}), "
        f"{measured['openssl_library']}, Python {measured['python']}.",
        "",
        "| benchmark | figure | ehcert | baseline (same run) | ratio | target | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for figure in figures:
        target = figure["target"]
        met = figure["met"]
        target_text = "-" if target is None else f"{target:.2f} ({'met' if met else 'missed'})"
        lines.append(
            f"| {figure['benchmark']} | {figure['name']} | {figure['value']:.1f} "
            f"{figure['unit']} | {figure['baseline_name']}: {figure['baseline_value']:.1f} | "
            f"{figure['ratio']:.2f} | {target_text} | {figure.get('note') or ''} |"
        )
    lines.append(END)
    return "\n".join(lines)


def chart(figures: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [str(figure["name"]) for figure in figures]
    ratios = [float(figure["ratio"]) for figure in figures]  # type: ignore[arg-type]
    height = max(2.5, 0.4 * len(figures) + 1)
    fig, axes = plt.subplots(figsize=(10, height))
    colours = ["#2e7d32" if figure["met"] in (True, None) else "#c62828" for figure in figures]
    axes.barh(names, ratios, color=colours)
    for index, figure in enumerate(figures):
        if figure["target"] is not None:
            target = float(figure["target"])  # type: ignore[arg-type]
            axes.plot([target, target], [index - 0.4, index + 0.4], color="black")
    axes.axvline(1.0, color="grey", linestyle=":")
    axes.set_xlabel("ratio to the baseline measured in the same run (black: target)")
    axes.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", type=Path, help="the JSON lines file of this run")
    arguments = parser.parse_args()
    figures = [
        json.loads(line)
        for line in arguments.figures.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    day = dt.datetime.now(dt.UTC).date().isoformat()
    measured = machine()
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{day}.json").write_text(
        json.dumps({"date": day, "machine": measured, "figures": figures}, indent=2) + "\n",
        encoding="utf-8",
    )
    chart(figures, results / f"{day}.png")
    document = ROOT / "docs" / "benchmarks.md"
    text = document.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    document.write_text(text[:start] + table(figures, measured, day) + text[end:], encoding="utf-8")
    print(f"wrote bench/results/{day}.json, bench/results/{day}.png and docs/benchmarks.md")


if __name__ == "__main__":
    main()
