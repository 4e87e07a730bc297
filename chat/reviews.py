"""The judge's review queue in the chat: ``/review [project]`` posts each trace the judge was unsure about with
Pass / Fail buttons; an approver's click stores the label (the same queue as ``opsgraph judge review``), which
feeds ``opsgraph judge align``."""

from __future__ import annotations

import asyncio
from typing import Any

import chainlit as cl

from agents.judge.agent import numbered_turns
from chat.approvals import current_identity
from core.contracts import JudgeInput
from core.projects import DEFAULT_PROJECT
from core.users import DENIED, can_approve, role_of

ACTION = "judge_label"
SHOW = 5  # cards posted per /review


def review_card(row: dict[str, Any]) -> str:
    """One queued trace as Markdown: scenario, numbered transcript (tool calls and results too), the judge."""
    item, judgment = row["item"], row["judgment"]
    sc = item["scenario"]
    lines = [f"**Review {row['review_id']}**: scenario `{sc['id']}` ({sc['category']}), seed {row['seed']}, "
             f"agent `{row['agent']}`", f"*Goal:* {sc['goal']}  \n*Expected:* {sc['expected_behavior']}", ""]
    lines += [f"- {line[:400]}" for line in numbered_turns(JudgeInput.model_validate(item))]
    lines += ["", f"*Judge:* uncertain (confidence {judgment['confidence']:.2f}): {judgment['rationale']}"]
    return "\n".join(lines)


async def show_reviews(project: str) -> int:
    """Post the first queued traces of ``project`` with Pass / Fail buttons; returns how many wait."""
    from services.judge_reviews import pending

    project = project.strip() or DEFAULT_PROJECT
    rows = await asyncio.to_thread(pending, project)
    if not rows:
        await cl.Message(content=f"Nothing waits for review in project `{project}`.").send()
        return 0
    await cl.Message(content=f"{len(rows)} trace(s) of project `{project}` wait for a label"
                     + (f"; the first {SHOW}:" if len(rows) > SHOW else ":")).send()
    for row in rows[:SHOW]:
        actions = [cl.Action(name=ACTION, label=label, icon=icon, tooltip=f"label review {row['review_id']} {value}",
                             payload={"review_id": row["review_id"], "project": project, "label": value})
                   for value, label, icon in (("pass", "Pass", "check"), ("fail", "Fail", "x"))]
        await cl.Message(content=review_card(row), actions=actions).send()
    return len(rows)


async def on_label_action(action: cl.Action) -> None:
    """A click on Pass / Fail: only an approver's label is stored."""
    from services.judge_reviews import label

    who = current_identity()
    if not can_approve(who):
        await cl.Message(content=f"**Not allowed:** {DENIED}. You are signed in as `{who}` (role: {role_of(who)}); "
                                 "the trace stays in the review queue.").send()
        return
    payload = action.payload
    try:
        await asyncio.to_thread(label, int(payload["review_id"]), payload["label"] == "pass", who, "",
                                str(payload["project"]))
    except LookupError as exc:
        await cl.Message(content=f"Not labelled: {exc}.").send()
        return
    await action.remove()
    await cl.Message(content=f"Review {payload['review_id']} labelled **{payload['label']}** by `{who}`; labels "
                             f"feed `opsgraph judge align --project {payload['project']}`.").send()
