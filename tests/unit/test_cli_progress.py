"""Progress without a terminal: timestamped lines at a bounded interval, with counts, rate and eta."""

from __future__ import annotations

import io
import re

from rich.console import Console

from cli.common import LineProgress


def test_line_progress_prints_timestamped_lines(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import time

    clock = iter(float(t) for t in range(0, 1000, 4))  # each call is 4 s later
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    buf = io.StringIO()
    report = LineProgress(Console(file=buf, force_terminal=False, width=200), every=10)
    for _ in range(9):
        report("embed", 1000, 9000)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3  # at 12 s, 24 s (every 10 s at least), and the end
    assert all(re.match(r"^\[\d\d:\d\d:\d\d\] embed: [\d,]+ / 9,000 \([\d,]+/s, eta \d+m\d\ds\)$", x) for x in lines)
    assert lines[-1].startswith(lines[-1][:11] + "embed: 9,000 / 9,000")
