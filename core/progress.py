"""How long work describes its progress, the same in the CLI's lines and the chat's steps."""

from __future__ import annotations


def progress_text(phase: str, done: float, total: float, seconds: float) -> str:
    """``embed: 3,072 / 9,000 (34/s, eta 2m54s)``: ``total`` 0 when unknown, ``seconds`` since the phase began."""
    rate = done / max(seconds, 1e-9)
    text = f"{phase}: {done:,.0f}"
    if total:
        left = (total - done) / rate if rate > 0 else 0.0
        return text + f" / {total:,.0f} ({rate:,.0f}/s, eta {int(left // 60)}m{int(left % 60):02d}s)"
    return text + f" ({rate:,.0f}/s)"
