"""Analytics benchmark: K-means (K by silhouette) + PCA + UMAP on 9k x 384 (warm) and 100k x 384, plus UMAP's
cold-start cost (numba JIT) in fresh processes with an empty and with a populated on-disk cache.

Vectors are synthetic: unit-normalised Gaussian blobs (30 centres, like the sample's K), which exercise the same code
paths as real embeddings. Prints one JSON document and replaces the "Analytics" section of BENCHMARKS.md
(bench.common.record). Targets: 9k warm < 15 s, 100k < 180 s.

    .venv/bin/python bench/analytics_bench.py [--skip-large] [--skip-cold] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS_S = {"rows_9000": 15.0, "rows_100000": 180.0}
COLD_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
from analytics.projection import configure_numba_cache, umap_reduce
configure_numba_cache(sys.argv[1])
import numpy as np
sys.path.insert(0, sys.argv[2])
from bench.analytics_bench import blobs
X = blobs(9000)
t1 = time.perf_counter(); umap_reduce(X, 2, seed=0); t2 = time.perf_counter(); umap_reduce(X, 2, seed=0)
t3 = time.perf_counter()
print(json.dumps({"import_s": round(t1 - t0, 2), "first_fit_s": round(t2 - t1, 2), "second_fit_s": round(t3 - t2, 2)}))
"""


def blobs(n: int, dim: int = 384, centres: int = 30, spread: float = 0.045, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors around ``centres`` random directions (cosine ~0.55 to their centre at spread 0.045)."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    X = c[rng.integers(0, centres, n)] + rng.normal(scale=spread, size=(n, dim))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def machine() -> dict[str, Any]:
    """nproc, memory, CPU model, load average, versions."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))  # fmt: skip
    import sklearn
    import umap

    return {"nproc": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1), "cpu": cpu,
            "load_average": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
            "numpy": np.__version__, "scikit_learn": sklearn.__version__, "umap_learn": umap.__version__}  # fmt: skip


def cold_start() -> dict[str, Any]:
    """UMAP's first fit in a fresh process: with an empty numba cache, then again with the cache it left."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="numba-bench-") as cache:
        for name in ("empty_cache", "populated_cache"):
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", COLD_SNIPPET, cache, str(ROOT)], capture_output=True,
                                  text=True, check=True, cwd=ROOT)  # fmt: skip
            out[name] = {**json.loads(proc.stdout.strip().splitlines()[-1]),
                         "process_s": round(time.perf_counter() - t, 2)}  # fmt: skip
    return out


def pipeline(n: int) -> dict[str, Any]:
    """Warm timings (s) of the run's numeric stages on ``n`` x 384: K-means auto, PCA-2, UMAP-2 (fit on 5,000)."""
    from analytics.clustering import kmeans_auto
    from analytics.projection import pca_reduce, umap_reduce

    X = blobs(n)
    stages: dict[str, Any] = {}
    t = time.perf_counter()
    km = kmeans_auto(X)
    stages["kmeans_auto_s"] = round(time.perf_counter() - t, 2)
    stages["k"] = km.k
    t = time.perf_counter()
    pca_reduce(X, 2)
    stages["pca_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    umap_reduce(X, 2, seed=0)
    stages["umap_s"] = round(time.perf_counter() - t, 2)
    stages["total_s"] = round(stages["kmeans_auto_s"] + stages["pca_s"] + stages["umap_s"], 2)
    target = TARGETS_S.get(f"rows_{n}")
    stages["target_s"] = target
    stages["meets_target"] = None if target is None else stages["total_s"] < target
    return stages


def markdown(result: dict[str, Any]) -> str:
    """The BENCHMARKS.md section for ``result``."""
    m = result["machine"]
    lines = [f"Run {result['date']} on {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB; load average at "
             f"start {m['load_average']}, at the end {m['load_average_end']} (other work was running); "
             f"numpy {m['numpy']}, scikit-learn {m['scikit_learn']}, umap-learn {m['umap_learn']}. "
             "Synthetic clustered unit vectors, 384-d.", "",
             "| rows | K-means auto (s) | K | PCA (s) | UMAP (s) | total (s) | target (s) | met |",
             "|---:|---:|---:|---:|---:|---:|---:|:--:|"]  # fmt: skip
    for n, s in result["warm"].items():
        lines.append(f"| {n.removeprefix('rows_')} | {s['kmeans_auto_s']} | {s['k']} | {s['pca_s']} | {s['umap_s']} "
                     f"| {s['total_s']} | {s['target_s']} | {'yes' if s['meets_target'] else 'no'} |")  # fmt: skip
    cold = result.get("cold_start")
    if cold:
        e, p = cold["empty_cache"], cold["populated_cache"]
        lines += ["", "UMAP cold start (9k x 384, fresh process, `configure_numba_cache`): first fit "
                  f"{e['first_fit_s']} s with an empty numba cache, {p['first_fit_s']} s with the cache populated "
                  f"(import {p['import_s']} s); the next fit in the same process {p['second_fit_s']} s."]  # fmt: skip
    lines += ["", "```json", json.dumps(result, indent=1), "```"]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print/record the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-large", action="store_true", help="Skip the 100k-row case.")
    parser.add_argument("--skip-cold", action="store_true", help="Skip the cold-start subprocesses.")
    parser.add_argument("--no-write", action="store_true", help="Do not update BENCHMARKS.md.")
    args = parser.parse_args()
    from analytics.projection import configure_numba_cache

    result: dict[str, Any] = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine()}
    if not args.skip_cold:
        result["cold_start"] = cold_start()
    with tempfile.TemporaryDirectory(prefix="numba-warm-") as cache:
        configure_numba_cache(cache)
        from analytics.projection import umap_reduce

        t = time.perf_counter()
        umap_reduce(blobs(6000, seed=1), 2, seed=0)  # warm-up: the exact-neighbour path (9k rows) ...
        umap_reduce(blobs(6000, seed=1), 2, sample=5000, seed=0)  # ... and pynndescent + transform (100k rows)
        result["warmup_s"] = round(time.perf_counter() - t, 2)
        result["warm"] = {"rows_9000": pipeline(9000)}
        if not args.skip_large:
            result["warm"]["rows_100000"] = pipeline(100_000)
    result["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    if not args.no_write:
        from bench.common import record

        record("Analytics (bench/analytics_bench.py)", markdown(result))


if __name__ == "__main__":
    main()
