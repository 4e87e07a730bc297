"""Distribution check of generated data against the real sessions summary (two-sample KS statistics).

The real sessions summary (1,595 sessions of 9,000 interactions) is the yardstick: for each metric in
:data:`KS_METRICS` the two-sample Kolmogorov-Smirnov statistic (``scipy.stats.ks_2samp``) between the generated
and the real session-level values is reported; the generator is tuned so that each is below
:data:`KS_THRESHOLD` at 9,000 rows, seed 0.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from scipy.stats import ks_2samp

from ingest.schema import TABLES

KS_METRICS: tuple[str, ...] = (
    "failure_rate", "avg_latency_ms", "total_requests", "avg_tokens_per_request", "csat_mean", "total_cost_usd",
)  # fmt: skip
KS_THRESHOLD = 0.1
REFERENCE_FILES = (TABLES["prompts"].file_name, TABLES["sessions"].file_name, TABLES["users"].file_name)
PACKAGED_REFERENCE = Path(__file__).resolve().parent / "reference"
SHARED_REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "llm_system_ops"


def reference_dir() -> Path:
    """Folder holding the three real reference CSVs.

    Order: ``$OPSGRAPH_REFERENCE_DIR``, the packaged copy ``ingest/reference/``, then
    ``../shared/reference/llm_system_ops`` next to the repository root.
    """
    candidates = []
    env = os.environ.get("OPSGRAPH_REFERENCE_DIR")
    if env:
        candidates.append(Path(env))
    candidates += [PACKAGED_REFERENCE, SHARED_REFERENCE]
    for c in candidates:
        if all((c / f).is_file() for f in REFERENCE_FILES):
            return c
    raise FileNotFoundError(
        "reference CSVs not found; looked in "
        + ", ".join(str(c) for c in candidates)
        + " (set OPSGRAPH_REFERENCE_DIR to the folder holding "
        + ", ".join(REFERENCE_FILES)
        + ")"
    )


def reference_sessions() -> pd.DataFrame:
    """The real sessions summary."""
    return pd.read_csv(reference_dir() / TABLES["sessions"].file_name)


def compare_to_reference(sessions_df: pd.DataFrame, reference: pd.DataFrame | None = None) -> dict[str, float]:
    """KS statistic per metric of :data:`KS_METRICS` (NaNs dropped) against the real sessions summary."""
    ref = reference_sessions() if reference is None else reference
    out: dict[str, float] = {}
    for metric in KS_METRICS:
        a = pd.to_numeric(sessions_df[metric], errors="coerce").dropna().to_numpy()
        b = pd.to_numeric(ref[metric], errors="coerce").dropna().to_numpy()
        out[metric] = float(ks_2samp(a, b).statistic)
    return out


def compare_dir(data_dir: Path) -> dict[str, float]:
    """KS statistics of the sessions summary in ``data_dir`` against the reference."""
    path = Path(data_dir) / TABLES["sessions"].file_name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (expected the sessions summary of a generated data set)")
    return compare_to_reference(pd.read_csv(path))
