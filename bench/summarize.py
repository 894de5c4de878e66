"""Fold several ``bench.latency --json`` runs into one table: the median of each number.

    python -m bench.summarize run1.json run2.json run3.json

On a shared machine one run can be a tenth faster or slower than the next; the ratios between
bots measured in the same run move much less. The ratio columns are the median over the runs
of Ballback's number divided by the other bot's number from the same run.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.latency import LABELS, label, parse_bot

KEYS = (
    "reply_p50_ms",
    "reply_p99_ms",
    "button_p50_ms",
    "button_p99_ms",
    "sequential_updates_per_s",
    "burst_updates_per_s",
    "cpu_ms_per_update",
    "peak_rss_mib",
)


def load(paths: list[Path]) -> list[dict[tuple[str, int], dict[str, Any]]]:
    runs = []
    for path in paths:
        rows = json.loads(path.read_text())
        runs.append({(row["bot"], row["reps"]): row["summary"] for row in rows})
    return runs


def main() -> None:
    runs = load([Path(arg) for arg in sys.argv[1:]])
    keys = sorted(
        {key for run in runs for key in run},
        key=lambda k: (k[1], list(LABELS).index(parse_bot(k[0])[0]), k[0]),
    )
    print(f"median of {len(runs)} runs\n")
    print(
        "| bot | N reps | reply p50 | reply p99 | button p50 | button p99 | "
        "updates/s one at a time | burst updates/s | CPU per update | peak RSS |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in keys:
        m = {k: statistics.median(run[key][k] for run in runs if key in run) for k in KEYS}
        print(
            f"| {label(key[0])} | {key[1]} | {m['reply_p50_ms']:.2f} ms | "
            f"{m['reply_p99_ms']:.2f} ms | {m['button_p50_ms']:.2f} ms | "
            f"{m['button_p99_ms']:.2f} ms | {m['sequential_updates_per_s']:.0f} | "
            f"{m['burst_updates_per_s']:.0f} | {m['cpu_ms_per_update']:.2f} ms | "
            f"{m['peak_rss_mib']:.0f} MiB |"
        )
    print("\nBallback / other bot, same run (median over runs; below 1 = Ballback is faster):\n")
    print("| N reps | against | reply p50 | button p50 | burst updates/s (above 1 = more) |")
    print("|---:|---|---:|---:|---:|")
    for reps in sorted({k[1] for k in keys}):
        for other in ("aiogram", "ptb", "ptb-aiohttp", "baseline"):
            pairs = [
                (run[("ballback", reps)], run[(other, reps)])
                for run in runs
                if ("ballback", reps) in run and (other, reps) in run
            ]
            if not pairs:
                continue

            def ratio(
                key: str, pairs: list[tuple[dict[str, Any], dict[str, Any]]] = pairs
            ) -> float:
                return statistics.median(b[key] / o[key] for b, o in pairs)

            print(
                f"| {reps} | {LABELS[other]} | {ratio('reply_p50_ms'):.2f} | "
                f"{ratio('button_p50_ms'):.2f} | {ratio('burst_updates_per_s'):.2f} |"
            )


if __name__ == "__main__":
    main()
