"""`opsgraph judge review` (the review queue of uncertain verdicts) and `opsgraph judge align` (the project's judge
made to agree with a person's labels)."""

from __future__ import annotations

import getpass
import re
import sys
from typing import Any

import typer

from cli.common import console, emit_json, fail

judge_app = typer.Typer(help="The judge's review queue and its alignment with human labels.", no_args_is_help=True)
_LABEL = re.compile(r"^(\d+)=(pass|fail)$")


def _labeller(name: str | None, as_json: bool) -> str:
    """Who labels: the given name, else the OS user; with login configured, only an approver may label."""
    from core.users import auth_enabled, can_approve

    who = name or getpass.getuser()
    if auth_enabled() and not can_approve(who):
        fail(f"{who} may not label: only users with the approver role can (OPSGRAPH_CHAT_USERS)", code=2,
             as_json=as_json)
    return who


def _show(row: dict[str, Any]) -> None:
    """Print one queued trace: the scenario, the numbered transcript (tool calls too) and the judge's reading."""
    item, judgment = row["item"], row["judgment"]
    sc = item["scenario"]
    console.print(f"[bold]review {row['review_id']}[/bold]  scenario {sc['id']} ({sc['category']}), "
                  f"seed {row['seed']}, agent {row['agent']}, run {row['run_id']}")
    console.print(f"goal: {sc['goal']}\nexpected: {sc['expected_behavior']}")
    from agents.judge.agent import numbered_turns
    from core.contracts import JudgeInput

    for line in numbered_turns(JudgeInput.model_validate(item)):
        console.print(f"  {line[:500]}", markup=False)
    console.print(f"judge: uncertain (confidence {judgment['confidence']:.2f}): {judgment['rationale']}",
                  markup=False)


@judge_app.command("review")
def review_cmd(project: str = typer.Option("default", "--project", help="The project whose queue to review."),
               label: list[str] = typer.Option(None, "--label", help="REVIEW_ID=pass|fail (repeatable): label "
                                               "without prompting."),
               comment: str = typer.Option("", "--comment", help="A comment stored with --label."),
               by: str | None = typer.Option(None, "--by", help="Who labels (default: the OS user)."),
               as_json: bool = typer.Option(False, "--json", help="List the queue (or the labels set) as JSON.")
               ) -> None:
    """Label the traces the judge was unsure about: interactive on a terminal (pass / fail / skip / quit, then an
    optional comment), or with --label; --json lists the queue. Labels feed `opsgraph judge align`."""
    from services.judge_reviews import label as set_label
    from services.judge_reviews import pending

    if label:
        who = _labeller(by, as_json)
        done = []
        for spec in label:
            m = _LABEL.match(spec.strip())
            if not m:
                fail(f"--label {spec!r}: expected REVIEW_ID=pass or REVIEW_ID=fail", code=2, as_json=as_json)
            try:
                done.append(set_label(int(m[1]), m[2] == "pass", who, comment, project_id=project))
            except LookupError as exc:
                fail(str(exc), code=2, as_json=as_json)
        if as_json:
            emit_json(done)
        else:
            console.print(f"labelled {len(done)} trace(s) in project {project}")
        return
    queue = pending(project)
    if as_json:
        emit_json([{k: v for k, v in r.items() if k != "created_at"} for r in queue])
        return
    if not sys.stdin.isatty():
        console.print(f"{len(queue)} trace(s) wait for review in project {project}; label them with "
                      "--label REVIEW_ID=pass|fail, or run this command on a terminal")
        return
    who = _labeller(by, as_json)
    if not queue:
        console.print(f"nothing to review in project {project}")
        return
    labelled = 0
    for row in queue:
        _show(row)
        answer = typer.prompt("label: [p]ass, [f]ail, [s]kip, [q]uit", default="s").strip().lower()[:1]
        if answer == "q":
            break
        if answer in ("p", "f"):
            note = typer.prompt("comment (optional)", default="", show_default=False)
            set_label(int(row["review_id"]), answer == "p", who, note, project_id=project)
            labelled += 1
    console.print(f"labelled {labelled} of {len(queue)} in project {project}")


@judge_app.command("align")
def align_cmd(input_path: str = typer.Option(..., "--input", "-i", help="JSON list of {scenario, trace}, the "
                                             "traces the labels are about."),
              labels_path: str = typer.Option(..., "--labels", help="JSON object: scenario_id -> true/false, or "
                                              "-> {\"label\": true/false, \"comment\": \"...\"}."),
              project: str = typer.Option(..., "--project", help="The project whose judge to align."),
              as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Make the project's judge agree with a person: fit its alignment from the labels (plus the labels given in
    its review queue) and report agreement on held-out labels (leave-one-out), aligned and unaligned."""
    import json
    from pathlib import Path

    from pydantic import TypeAdapter, ValidationError

    from agents.judge.align import align
    from core.contracts import JudgeInput
    from services.judge_reviews import labelled

    def read(path: str, what: str) -> Any:
        try:
            return json.loads(sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            fail(f"{what} {path}: {exc}", code=2, as_json=as_json)

    try:
        items = TypeAdapter(list[JudgeInput]).validate_python(read(input_path, "input"))
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"input {input_path}: item {'.'.join(map(str, err['loc']))}: {err['msg']}", code=2, as_json=as_json)
    raw = read(labels_path, "labels")
    if not isinstance(raw, dict):
        fail(f"labels {labels_path}: expected a JSON object scenario_id -> true/false", code=2, as_json=as_json)
    labels: dict[str, dict[str, Any]] = {}
    for sid, value in raw.items():
        entry = value if isinstance(value, dict) else {"label": value}
        if not isinstance(entry.get("label"), bool):
            fail(f"labels {labels_path}: {sid!r}: the label must be true or false", code=2, as_json=as_json)
        labels[str(sid)] = entry
    for row in labelled(project):  # labels from the review queue feed the same alignment
        items.append(JudgeInput.model_validate(row["item"]))
        labels.setdefault(row["item"]["scenario"]["id"], {"label": row["label"], "comment": row["comment"] or ""})
    try:
        report = align(project, items, labels)
    except ValueError as exc:
        fail(str(exc), code=2, as_json=as_json)
    if as_json:
        emit_json(report)
        return
    for name in ("unaligned", "aligned_cross_validated"):
        r = report[name]
        agreement = "n/a" if r["agreement"] is None else f"{r['agreement']:.2f}"
        kappa = r["kappa"]["kappa"]
        console.print(f"{name}: agreement {agreement} on {r['spoken']}/{r['n']} spoken (coverage "
                      f"{r['coverage']:.0%}), kappa {'n/a' if kappa is None else f'{kappa:.2f}'}")
    console.print(f"alignment of project {project} stored ({report['n_labels']} labels)")
