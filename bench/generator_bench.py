"""Fidelity of the synthetic replica: two-sample KS statistics of session aggregates vs the real summary file."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import record


def main() -> None:
    """Generate 9k rows for seeds 0-2 and record the KS statistics (each must be < 0.1)."""
    from ingest.compare import compare_dir
    from ingest.generator import generate

    results = {}
    for seed in (0, 1, 2):
        out = Path(tempfile.mkdtemp()) / f"s{seed}"
        t0 = time.perf_counter()
        generate(9000, seed, out)
        results[seed] = (compare_dir(out), time.perf_counter() - t0)
    metrics = list(results[0][0])
    lines = ["| seed | " + " | ".join(metrics) + " | generate (s) |", "|---:|" + "---:|" * (len(metrics) + 1)]
    for seed, (ks, secs) in results.items():
        lines.append(f"| {seed} | " + " | ".join(f"{ks[m]:.3f}" for m in metrics) + f" | {secs:.1f} |")
    worst = max(v for ks, _ in results.values() for v in ks.values())
    body = ("Two-sample KS statistic between the session aggregates of 9,000 generated interactions and the real "
            "`llm_system_sessions_summary.csv` (target < 0.1 each; `opsgraph data generate` and `opsgraph data "
            "compare DIR` print the same):\n\n" + "\n".join(lines) + f"\n\nWorst: {worst:.3f}.")
    print(body)
    record("Synthetic replica fidelity", body)


if __name__ == "__main__":
    main()
