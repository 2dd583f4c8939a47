#!/usr/bin/env python3
"""Prints criterion medians of one or more groups as a Markdown table, each
row with its ratio to a baseline row measured in the same run.

usage: benches/report.py GROUP BASELINE_BENCH [GROUP BASELINE_BENCH ...]
"""
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def fmt(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def group_rows(group: str):
    for est in sorted((root / group).glob("*/new/estimates.json")):
        data = json.loads(est.read_text())
        yield est.parent.parent.name, data["median"]["point_estimate"]


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        sys.exit(__doc__)
    for group, baseline in zip(argv[::2], argv[1::2]):
        rows = dict(group_rows(group))
        if baseline not in rows:
            sys.exit(f"{group}: no baseline {baseline} among {sorted(rows)}")
        base = rows[baseline]
        print(f"\n`{group}` (median of criterion samples; ratio = time / `{baseline}`)\n")
        print("| benchmark | median | ratio |")
        print("|---|---:|---:|")
        for name, ns in sorted(rows.items(), key=lambda r: r[1]):
            print(f"| {name} | {fmt(ns)} | {ns / base:.2f}× |")


if __name__ == "__main__":
    main(sys.argv[1:])
