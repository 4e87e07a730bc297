"""The scan statistic finds a sustained shift in a sparse series and nothing in a stationary one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.scan import scan_incidents


def _frame(shift: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2025-02-01", "2025-04-30", freq="D", tz="UTC")
    rows = []
    for day in days:
        for _ in range(rng.poisson(5)):  # ~5 calls a day: too sparse for daily z-scores
            bad = shift and pd.Timestamp("2025-04-08", tz="UTC") <= day <= pd.Timestamp("2025-04-21", tz="UTC")
            p = 0.7 if bad else 0.22
            rows.append({"timestamp": day + pd.Timedelta(hours=int(rng.integers(24))), "tool": "sql_query",
                         "failure_type": "tool_error" if rng.random() < p else "none"})
    return pd.DataFrame(rows)


def test_finds_the_planted_window() -> None:
    found = scan_incidents(_frame(shift=True), "tool")
    assert len(found) == 1
    inc = found[0]
    assert inc.key == "sql_query" and inc.failure_type == "tool_error"
    assert "2025-04-05" <= inc.start <= "2025-04-11" and "2025-04-18" <= inc.end <= "2025-04-24"
    assert inc.value > 2 * inc.baseline and inc.p_value < 1e-6


def test_stationary_series_has_no_incident() -> None:
    assert [scan_incidents(_frame(shift=False, seed=s), "tool") for s in range(5)] == [[]] * 5
