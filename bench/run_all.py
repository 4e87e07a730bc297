"""`make bench`: every benchmark in turn; each records its section of BENCHMARKS.md."""

from __future__ import annotations

import subprocess
import sys

from bench.common import ROOT

BENCHES = ("bench.generator_bench", "bench.ingest_bench", "bench.retrieval_bench", "bench.vector_store_bench",
           "bench.supervisor_bench",
           "bench.analytics_bench", "bench.otlp_bench", "bench.demo_bench")


def main() -> None:
    """Run each benchmark module in its own process (clean memory peaks and JIT state)."""
    failed = []
    for mod in BENCHES:
        print(f"== {mod}", flush=True)
        if subprocess.run([sys.executable, "-m", mod], cwd=ROOT).returncode != 0:
            failed.append(mod)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
