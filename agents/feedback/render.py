"""The feedback report as a summary paragraph, Markdown and one standalone HTML page."""

from __future__ import annotations

from agents.feedback.models import FeedbackReport, RateTrend
from analytics.report_render import Block, Bullets, Heading, Paragraph, Table, to_html, to_markdown


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _p(x: float | None) -> str:
    return "n/a" if x is None else ("<0.001" if x < 0.001 else f"{x:.3f}")


def _scope(r: FeedbackReport) -> str:
    parts = [f"model {r.model_name}" if r.model_name else "all models",
             f"use case {r.use_case}" if r.use_case else "all use cases"]
    return f"{', '.join(parts)}, {r.start:%Y-%m-%d %H:%M} to {r.end:%Y-%m-%d %H:%M} UTC"


def _trend_sentence(t: RateTrend) -> str:
    text = f"{t.description}: {_pct(t.rate)} ({t.count}/{t.n})"
    if t.direction in ("no_baseline", "no_data"):
        return text + " (no baseline to compare)"
    pts = 100 * (t.delta or 0.0)
    return text + f" vs {_pct(t.baseline_rate)} before ({pts:+.1f} pts, p={_p(t.p_value)}, {t.direction})"


def summary_text(r: FeedbackReport) -> str:
    """A paragraph with the window's numbers, what changed significantly and the largest theme."""
    if not r.n_interactions:
        return f"No interactions in the window ({_scope(r)})."
    worse = [t for t in r.trends if t.direction == "worse"]
    better = [t for t in r.trends if t.direction == "better"]
    text = (f"{r.n_interactions} interactions ({_scope(r)}); {r.counts['flagged']} carry negative feedback, a "
            f"reported issue or an escalation. ")
    if worse:
        text += "Significantly worse than the previous period: " + "; ".join(map(_trend_sentence, worse)) + ". "
    if better:
        text += "Significantly better: " + "; ".join(map(_trend_sentence, better)) + ". "
    if not worse and not better:
        text += "No rate changed significantly against the previous period. "
    if r.themes:
        top = r.themes[0]
        text += (f"{len(r.themes)} themes; the largest is '{top.label}' ({top.size} interactions, e.g. "
                 f"{top.exemplars[0].interaction_id}: \"{top.exemplars[0].text[:100]}\"). ")
    text += f"{len(r.proposed_scenarios)} new evaluation scenarios are proposed from them."
    return text.strip()


def render_feedback(r: FeedbackReport) -> tuple[str, str, str]:
    """(markdown, html, summary) of the report."""
    title = f"Production feedback: {r.model_name or 'all models'}" + (f" / {r.use_case}" if r.use_case else "")
    summary = summary_text(r)
    blocks: list[Block] = [Heading(title, 1), Heading("Summary"), Paragraph(summary), Heading("Rates and trend"),
                           Paragraph(f"Window {r.start:%Y-%m-%d %H:%M} – {r.end:%Y-%m-%d %H:%M} UTC against the "
                                     f"baseline {r.baseline_start:%Y-%m-%d %H:%M} – {r.start:%Y-%m-%d %H:%M} "
                                     f"({r.n_baseline} interactions); two-sided two-proportion z-tests."),
                           Table(["rate", "window", "baseline", "delta", "p-value", "trend"],
                                 [[t.description, f"{_pct(t.rate)} ({t.count}/{t.n})",
                                   f"{_pct(t.baseline_rate)} ({t.baseline_count}/{t.baseline_n})",
                                   "n/a" if t.delta is None else f"{100 * t.delta:+.1f} pts", _p(t.p_value),
                                   t.direction] for t in r.trends]),
                           Heading("Themes of negative feedback")]
    if not r.themes:
        blocks.append(Paragraph("No interaction in the window carries negative feedback, a reported issue or an "
                                "escalation."))
    else:
        space = "stored embeddings" if r.embedding_source == "log_embeddings" else "TF-IDF of the request texts"
        blocks.append(Paragraph(f"Clustered on {space}; keywords by class-based TF-IDF."))
        blocks.append(Table(["#", "theme", "interactions", "negative", "issues", "escalated", "failed", "category"],
                            [[str(t.theme_id), t.label, str(t.size), str(t.signals["negative_feedback"]),
                              str(t.signals["reported_issue"]), str(t.signals["escalated"]), str(t.signals["failed"]),
                              t.category or "-"] for t in r.themes]))
        for t in r.themes:
            blocks += [Heading(f"Theme {t.theme_id}: {t.label}", 3),
                       Paragraph(f"Keywords: {', '.join(t.keywords) or '-'}. Failure types: "
                                 f"{', '.join(f'{k} ({v})' for k, v in t.failure_types.items()) or 'none'}. Models: "
                                 f"{', '.join(f'{k} ({v})' for k, v in t.models.items())}."),
                       Bullets([f"{e.interaction_id}: {e.text}" for e in t.exemplars])]
    blocks.append(Heading("Proposed evaluation scenarios"))
    if r.proposed_scenarios:
        blocks.append(Table(["id", "theme", "opening message", "expected behaviour", "difficulty", "from interactions"],
                            [[p.scenario.id, str(p.theme_id), p.scenario.opening_message,
                              p.scenario.expected_behavior, p.scenario.difficulty, ", ".join(p.interaction_ids)]
                             for p in r.proposed_scenarios]))
    else:
        blocks.append(Paragraph("None: no theme to draw scenarios from."))
    return to_markdown(blocks), to_html(blocks, title), summary
