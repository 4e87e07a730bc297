"""Evaluation reports as Markdown and one standalone HTML page.

``analyst_report`` renders an ``aggregate_judgments`` result (what to expect from one agent in production);
``comparison_report`` renders a ``compare`` result (the comparator's recommendation). Both are pure functions
returning ``(markdown, html)``. Charts are drawn with matplotlib's object-oriented API (``Figure``, Agg canvas,
no pyplot state) and inlined in the HTML as base64 PNG data URIs; the page has inline CSS and no external links.
The Markdown carries the same numbers as text and tables (charts are in the HTML only).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Block = tuple[str, Any]  # ("h1" | "h2" | "p" | "ul" | "table" | "img", payload)

CSS = ("body{font-family:Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;"
       "line-height:1.5}h1{border-bottom:2px solid #ddd}h2{margin-top:1.6em;border-bottom:1px solid #eee}"
       "table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ddd;padding:4px 8px;"
       "text-align:left}th{background:#f5f5f5}figure{margin:1.2em 0}img{max-width:100%}"
       "figcaption{color:#666;font-size:.9em}")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _p(x: float) -> str:
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _at(d: Mapping[Any, float], k: int) -> float:
    """``d[k]`` for int keys or their JSON-string form."""
    return float(d[k] if k in d else d[str(k)])


def _short(text: str, n: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _png(draw: Callable[[Any], None], size: tuple[float, float] = (6.4, 3.2)) -> str:
    """Draw on one Axes of a fresh Agg figure; returns the PNG as base64 text."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    draw(fig.add_subplot(1, 1, 1))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for kind, data in blocks:
        if kind in ("h1", "h2"):
            out.append("#" * int(kind[1]) + " " + data)
        elif kind == "p":
            out.append(data)
        elif kind == "ul":
            out.append("\n".join(f"- {i}" for i in data))
        elif kind == "table":
            cols, rows = data
            out.append("\n".join(["| " + " | ".join(_cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
                                 + ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]))
        elif kind == "img":
            out.append(f"*Chart: {data[0]} (embedded in the HTML report).*")
    return "\n\n".join(out) + "\n"


def _html(blocks: Sequence[Block], title: str) -> str:
    esc = html.escape
    body: list[str] = []
    for kind, data in blocks:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{esc(data)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{esc(data)}</p>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in data) + "</ul>")
        elif kind == "table":
            cols, rows = data
            head = "".join(f"<th>{esc(str(c))}</th>" for c in cols)
            trs = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
        elif kind == "img":
            caption, b64 = data
            body.append(f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{b64}">'
                        f"<figcaption>{esc(caption)}</figcaption></figure>")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _rate_rows(rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    return [[_short(r["value"]), str(r["n"]), _pct(r["pass_rate"]), f"{_pct(r['ci_low'])} – {_pct(r['ci_high'])}",
             f"{r['mean_score']:.2f}"] for r in rows]


def analyst_report(agg: Mapping[str, Any], title: str | None = None) -> tuple[str, str]:
    """Markdown and HTML for one agent's ``aggregate_judgments`` result."""
    title = title or f"What to expect from {agg['agent']} in production"
    o, conf = agg["overall"], f"{agg['conf']:.0%}"
    dist = {int(k): int(v) for k, v in agg["score_distribution"].items()}
    blocks: list[Block] = [("h1", title), ("h2", "Summary"), ("p", (
        f"On {agg['n_scenarios']} scenarios ({agg['n_judgments']} judged conversations), {agg['agent']} passed "
        f"{_pct(o['pass_rate'])} ({o['passes']}/{o['n']}; {conf} Wilson CI {_pct(o['ci_low'])} – "
        f"{_pct(o['ci_high'])}) with a mean judge score of {o['mean_score']:.2f}/5. On production traffic like "
        f"these scenarios, expect a success rate within that interval."
        + (f" The judge abstained on {o['uncertain']} conversation(s) (verdict uncertain): they are left out of the "
           "pass rate and wait for a person's label in the review queue." if o.get("uncertain") else "")))]
    pk = agg["pass_k"]
    if pk["multi_seed"]:
        k = pk["k"]
        hat, at = _pct(_at(pk["pass_hat_k"], k)), _pct(_at(pk["pass_at_k"], k))
        blocks.append(("p", f"Consistency over {k} seeds per scenario: pass^{k} = {hat} of scenarios pass on every "
                            f"seed, pass@{k} = {at} pass on at least one; the gap is the share of flaky scenarios."))
    blocks += [("h2", "Score distribution"),
               ("table", (["score", *map(str, range(1, 6))], [["count", *(str(dist.get(s, 0)) for s in range(1, 6))]])),
               ("img", ("Judge scores (1-5)", _png(lambda ax: _bars(ax, dist))))]
    cols = ["value", "n", "pass rate", f"{conf} CI", "mean score"]
    for group in ("category", "persona", "difficulty"):
        blocks += [("h2", f"By {group}"), ("table", (cols, _rate_rows(agg["breakdown"][group])))]
    blocks.append(("img", ("Pass rate by category with Wilson CI",
                           _png(lambda ax: _rate_chart(ax, agg["breakdown"]["category"])))))
    fr = agg["failure_reasons"]
    blocks.append(("h2", "Top failure reasons"))
    if fr["n_failed"] == 0:
        blocks.append(("p", "No failed conversations."))
    else:
        blocks.append(("p", f"{fr['n_failed']} failed conversations; {fr['unexplained']} without a failed rubric "
                            "criterion."))
        blocks.append(("table", (["failed criterion", "count", "share of failures", "example scenarios"],
                                 [[c["reason"], str(c["count"]), _pct(c["share"]), ", ".join(c["examples"])]
                                  for c in fr["criteria"]])))
        if fr["keywords"]:
            blocks.append(("ul", [f"{k['keyword']} ({k['count']})" for k in fr["keywords"]]))
    return _md(blocks), _html(blocks, title)


def _bars(ax: Any, dist: Mapping[int, int]) -> None:
    xs = list(range(1, 6))
    ax.bar(xs, [dist.get(x, 0) for x in xs], color="#4c78a8")
    ax.set_xticks(xs)
    ax.set_xlabel("score")
    ax.set_ylabel("conversations")


def _rate_chart(ax: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    names = [_short(r["value"], 24) for r in rows]
    rates = [r["pass_rate"] for r in rows]
    err = [[max(0.0, r["pass_rate"] - r["ci_low"]) for r in rows],  # rounding may put a CI end a hair inside
           [max(0.0, r["ci_high"] - r["pass_rate"]) for r in rows]]
    ax.barh(names, rates, xerr=err, color="#59a14f", capsize=3)
    ax.set_xlim(0, 1)
    ax.set_xlabel("pass rate")


def _forest(ax: Any, cmp: Mapping[str, Any]) -> None:
    rows = [("overall", cmp), *[(c["category"], c) for c in cmp["categories"]]]
    ys = list(range(len(rows)))[::-1]
    for y, (_, r) in zip(ys, rows, strict=True):
        ax.plot([r["ci_low"], r["ci_high"]], [y, y], color="#4c78a8")
        ax.plot([r["mean_diff"]], [y], "o", color="#e15759" if r["significant"] else "#4c78a8")
    ax.axvline(0, color="#999", linestyle="--")
    ax.set_yticks(ys)
    ax.set_yticklabels([_short(n, 24) for n, _ in rows])
    ax.set_xlabel("mean score difference (b - a) with bootstrap CI")


def comparison_report(cmp: Mapping[str, Any], title: str | None = None) -> tuple[str, str]:
    """Markdown and HTML for a ``compare`` result: difference, tests, per-category table, power, recommendation."""
    a, b, pct = cmp["label_a"], cmp["label_b"], f"{1 - cmp['alpha']:.0%}"
    title = title or f"Comparison: {b} vs {a}"
    verdict = {"a": f"{a} is better", "b": f"{b} is better", None: "no significant difference"}[cmp["winner"]]
    mc, k = cmp["mcnemar"], cmp["pass_k_a"]["k"]
    blocks: list[Block] = [
        ("h1", title), ("h2", "Recommendation"), ("p", f"Verdict: {verdict}."), ("p", cmp["recommendation"]),
        ("h2", "Difference and tests"),
        ("table", (["measure", "value"], [
            ["paired runs / scenarios", f"{cmp['n_pairs']} / {cmp['n_scenarios']}"],
            ["unpaired runs (a / b)", f"{cmp['unpaired_a']} / {cmp['unpaired_b']}"],
            ["mean score a / b", f"{cmp['mean_a']:.2f} / {cmp['mean_b']:.2f}"],
            ["mean difference (b - a)", f"{cmp['mean_diff']:+.3f}"],
            [f"{pct} bootstrap CI (scenario clusters)", f"{cmp['ci_low']:+.3f} to {cmp['ci_high']:+.3f}"],
            ["pass rate a / b", f"{_pct(cmp['pass_rate_a'])} / {_pct(cmp['pass_rate_b'])}"],
            ["uncertain verdicts a / b (left out of the pass rates and McNemar)",
             f"{cmp.get('uncertain_a', 0)} / {cmp.get('uncertain_b', 0)}"],
            ["Wilcoxon signed-rank p", _p(cmp["wilcoxon"]["p"])],
            [f"McNemar exact p (b-only / a-only passes; unit: {mc.get('unit', 'run')})",
             f"{_p(mc['p'])} ({mc['b_only']} / {mc['a_only']})"],
            ["Cohen's d_z", "n/a" if cmp["cohens_dz"] is None else f"{cmp['cohens_dz']:+.2f}"],
            ["rank-biserial r", f"{cmp['rank_biserial']:+.2f}"],
            [f"pass^{k} a / b", " / ".join(_pct(_at(cmp[s]["pass_hat_k"], k)) for s in ("pass_k_a", "pass_k_b"))],
            ["significant", "yes" if cmp["significant"] else "no"],
        ])),
        ("p", f"Decision rule: {cmp['rule']}."),
        ("img", ("Mean score difference with bootstrap CI, overall and per category (red = significant)",
                 _png(lambda ax: _forest(ax, cmp), (6.4, 1.2 + 0.45 * len(cmp["categories"]))))),
        ("h2", "Per category (Holm-Bonferroni corrected)"),
        ("table", (["category", "scenarios", "mean diff", "CI", "Wilcoxon p", "Wilcoxon p (Holm)", "McNemar p",
                    "McNemar p (Holm)", "significant"],
                   [[c["category"], str(c["n_scenarios"]), f"{c['mean_diff']:+.3f}",
                     f"{c['ci_low']:+.2f} to {c['ci_high']:+.2f}", _p(c["wilcoxon"]["p"]),
                     _p(c["wilcoxon"]["p_holm"]), _p(c["mcnemar"]["p"]), _p(c["mcnemar"]["p_holm"]),
                     "yes" if c["significant"] else "no"] for c in cmp["categories"]])),
        ("h2", "Power"), ("p", cmp["power"]["text"]),
    ]
    return _md(blocks), _html(blocks, title)
