"""The dataset builder's offline handlers: drafts and revision plans computed from the request.

The target's metadata selects catalogue categories (``agents.dataset_builder.scenario_bank``), seeds become
scenarios, and revision instructions are parsed into operations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from agents.dataset_builder.models import (
    AddRequest,
    CategoryProposal,
    ProposeRequest,
    RevisionOp,
    RevisionPlan,
    RevisionRequest,
    ScenarioDraft,
    ScenarioProposal,
)
from agents.dataset_builder.scenario_bank import (
    FAILURE_EXPECTATIONS,
    HARD_TWISTS,
    PERSONA_STYLES,
    STYLE_ALIASES,
    CategorySpec,
    Situation,
    category_for_topic,
    matching_categories,
    slug,
    spec_for,
)
from core.contracts import Difficulty
from core.evidence import request_of
from core.offline_llm import register_structured_handler


def _proposal(spec: CategorySpec, sit: Situation, difficulty: str | None = None, twist: int | None = None,
              source: str = "catalogue") -> ScenarioProposal:
    diff, persona, goal, opening, expected = sit
    if twist is not None:
        phrase, label, extra = HARD_TWISTS[twist % len(HARD_TWISTS)]
        opening = f"{opening.rstrip('.!? ')}, {phrase}."
        persona, expected, diff = f"{persona} ({label})", f"{expected} {extra}".strip(), "hard"
    return ScenarioProposal(category=spec.name, persona=persona, goal=goal, opening_message=opening,
                            expected_behavior=expected, difficulty=difficulty or diff,  # type: ignore[arg-type]
                            expected_tools=list(spec.tools) or None, failure_types=list(spec.failure_types),
                            source=source)


def _seeded(req: ProposeRequest) -> list[ScenarioProposal]:
    out: list[ScenarioProposal] = []
    diffs: tuple[Difficulty, ...] = ("hard", "medium", "easy")
    for cl in req.failure_clusters:
        label, ftype = str(cl.get("label", "cluster")), str(cl.get("failure_type", "unknown"))
        exemplars = cl.get("exemplars") or cl.get("exemplar_prompts") or []
        spec = spec_for(category_for_topic(f"{label} {' '.join(exemplars)}") or "")
        for i, ex in enumerate(exemplars[:3]):
            out.append(ScenarioProposal(
                category=spec.name if spec else f"cluster_{slug(label)}",
                persona=f"A customer like those in the '{label}' failure cluster ({ftype})",
                goal=f"Get a correct, policy-compliant answer to: {ex[:120]}", opening_message=ex,
                expected_behavior=FAILURE_EXPECTATIONS.get(ftype, "Resolves the request and stays polite."),
                difficulty=diffs[i % 3], expected_tools=(list(spec.tools) or None) if spec else None,
                failure_types=sorted({ftype, *(spec.failure_types if spec else ())}), source=f"cluster:{label}"))
    for th in req.feedback_report:
        theme = str(th.get("theme", "feedback"))
        examples = th.get("examples") or [f"I have a problem: {theme}."]
        category = th.get("category") or category_for_topic(f"{theme} {' '.join(examples)}")
        spec = spec_for(category or "")
        for i, ex in enumerate(examples[: int(th.get("count", 1) or 1)]):
            out.append(ScenarioProposal(
                category=category or f"feedback_{slug(theme)}",
                persona=f"A customer who left negative feedback about {theme}", goal=f"Resolve: {theme}",
                opening_message=ex, expected_behavior=spec.situations[0][4] if spec else
                "Resolves the request and stays polite.", difficulty=diffs[(i + 1) % 3],
                failure_types=list(spec.failure_types) if spec else [], source="feedback"))
    return out


def propose_offline(req: ProposeRequest) -> ScenarioDraft:
    """Categories from the target's metadata plus seeds, and ``n`` scenarios spread over them."""
    target = req.target
    text = " ".join([target.get("description", ""), target.get("system_prompt", ""), *target.get("tools", [])])
    n = req.n
    specs = matching_categories(text)
    seeded = _seeded(req)[: max(1, n // 2)]
    low = text.lower()
    cats = [CategoryProposal(name=s.name, failure_types=list(s.failure_types),
                             rationale=f"{s.rationale} (metadata mentions: "
                                       f"{', '.join(t for t in s.triggers if t in low)})")
            for s in specs]
    for sp in seeded:
        if sp.category not in {c.name for c in cats}:
            cats.append(CategoryProposal(name=sp.category, rationale=f"seeded by {sp.source}",
                                         failure_types=sp.failure_types))
    pool: list[ScenarioProposal] = []
    rounds = max(len(s.situations) for s in specs) if specs else 0
    for r in range(rounds * 2):
        for spec in specs:
            k = len(spec.situations)
            pool.append(_proposal(spec, spec.situations[r % k], twist=None if r < k else r))
    if not specs:
        desc = target.get("description", "its job") or "its job"
        pool = [ScenarioProposal(category="general_help", persona=f"A typical user, variant {i + 1}",
                                 goal=f"Get help with {desc[:80]}", difficulty=("easy", "medium", "hard")[i % 3],
                                 opening_message=f"Hi, can you help me with {desc[:80]}? (case {i + 1})",
                                 expected_behavior="Resolves the request and stays polite.") for i in range(n)]
        cats = [CategoryProposal(name="general_help", rationale="no known capability in the metadata"), *cats]
    return ScenarioDraft(categories=cats, scenarios=seeded + pool[: n - len(seeded)])


def add_offline(req: AddRequest) -> ScenarioDraft:
    """``count`` new scenarios for one category: unused situations first, then harder variants."""
    category, count = req.category or "general_help", req.count or 1
    difficulty, style = req.difficulty, req.persona_style
    used = set(req.existing_openings)
    spec = spec_for(category)
    out: list[ScenarioProposal] = []
    if spec:
        fresh = [s for s in spec.situations if s[3] not in used]
        fresh.sort(key=lambda s: s[0] != difficulty)
        for i, sit in enumerate(fresh):
            twist = i if difficulty == "hard" and sit[0] != "hard" else None
            out.append(_proposal(spec, sit, difficulty if twist is None else None, twist, source="revision"))
        for i, sit in enumerate(spec.situations * 2):
            out.append(_proposal(spec, sit, None if difficulty in (None, "hard") else difficulty, twist=i + 1,
                                 source="revision"))
        out = [p for p in out if p.opening_message not in used]
    else:
        topic = category.replace("_", " ")
        out = [ScenarioProposal(category=category, persona=f"A customer asking about {topic}, variant {i + 1}",
                                goal=f"Get help with {topic}",
                                opening_message=f"Hi, I need help with {topic} (#{i + 1}).",
                                expected_behavior="Resolves the request and stays polite.",
                                difficulty=difficulty or "medium", source="revision") for i in range(count)]
    out = out[:count]
    return ScenarioDraft(scenarios=[restyle(p, style, i) if style else p for i, p in enumerate(out)])


def restyle(p: ScenarioProposal, style: str, index: int) -> ScenarioProposal:
    """The scenario with a persona style (angry, confused) applied to persona, opening and expectations."""
    key = STYLE_ALIASES.get(style, style)
    desc, phrases, requirement = PERSONA_STYLES.get(key, (f"{style} in manner", ("",), ""))
    expected = p.expected_behavior if requirement in p.expected_behavior else f"{p.expected_behavior} {requirement}"
    ftypes = sorted({*p.failure_types, *(["toxicity"] if key == "angry" else [])})
    return p.model_copy(update={"persona": f"{p.persona}; {desc}", "expected_behavior": expected.strip(),
                                "opening_message": f"{p.opening_message} {phrases[index % len(phrases)]}".strip(),
                                "failure_types": ftypes})


NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "ten": 10, "a few": 3, "a couple of": 2, "some": 2, "several": 3}
_NUM = r"(?P<count>\d+|a few|a couple of|several|some|an?|one|two|three|four|five|six|seven|eight|nine|ten)"
_DIFF = r"(?P<diff>easy|simple|medium|moderate|hard|difficult|tricky|challenging)"
_DIFF_MAP = {"simple": "easy", "moderate": "medium", "difficult": "hard", "tricky": "hard", "challenging": "hard"}
_VERB = r"(?:add|include|create|generate|write|need|want)"
_STYLE_RE = re.compile(rf"\b(?:(?:add|include|use|more)\s+)?(?:{_NUM}\s+)?(?:more\s+)?(?P<style>angry|frustrated|"
                       r"furious|irate|impatient|confused|non-technical|nontechnical)\s+"
                       r"(?:personas?|users?|customers?|people)", re.I)
_ADD_RE = re.compile(rf"\b(?:{_VERB}\s+(?:{_NUM}\s+)?(?:more\s+)?|more\s+)(?:{_DIFF}\s+)?(?:more\s+)?"
                     r"(?:scenarios?|cases?|examples?|conversations?|tests?)\b"
                     r"(?:\s+(?:about|on|for|covering|around|regarding|with|involving)\s+(?P<topic>.+))?", re.I)
_DROP_RE = re.compile(r"\b(?:drop|remove|delete|exclude|skip|get rid of)\s+(?:all\s+)?(?:the\s+)?(?:category\s+|"
                      r"scenarios?\s+(?:about|on|for)\s+)?['\"]?(?P<cat>[\w\s-]+?)['\"]?"
                      r"(?:\s+(?:category|categories|scenarios?))?\s*[.!]?$", re.I)
_EDIT_VERBS = r"(?:add|drop|remove|delete|include|more|create|exclude|make|set|change|merge|rewrite|get rid)\b"
_SPLIT = re.compile(rf"\s*(?:;|\n|\bthen\b(?=\s+{_EDIT_VERBS})|,?\s*\band\s+(?={_EDIT_VERBS})"
                    rf"|,\s*(?={_EDIT_VERBS}))\s*", re.I)


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10}
_REF = (r"(?:(?:scenario|case|item|example|test|number|no\.?)\s*#?\s*(?P<idx>\d+)|#\s*(?P<hash>\d+)"
        r"|(?:the\s+)?(?P<ord>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last)"
        r"(?:\s+(?:one|scenario|case|item|example))?|(?:the\s+)?(?P<nth>\d+)(?:st|nd|rd|th)(?:\s+(?:one|scenario|case|item))?)")
_REMOVE_RE = re.compile(rf"\b(?:drop|remove|delete|cut|discard|get rid of|lose|take out)\s+(?:the\s+)?{_REF}", re.I)
_FIELDS = {"persona": "persona", "user": "persona", "customer": "persona", "goal": "goal",
           "expected behaviou?r": "expected_behavior", "expectations?": "expected_behavior",
           "opening(?: message)?": "opening_message", "first message": "opening_message", "message": "opening_message"}
_FIELD = "|".join(_FIELDS)
_SEP = r"\s*(?:(?:to(?: be)?|into|as|with)\s*[:=]?|[:=])\s*"
_SET_RE = re.compile(rf"\b(?:change|set|update|replace|make|rewrite|edit)\s+(?:the\s+)?(?P<field>{_FIELD})\s+"
                     rf"(?:of|for|in|on)\s+(?:the\s+)?{_REF}{_SEP}(?P<value>.+)", re.I)
_SET_OF_RE = re.compile(rf"^\s*(?:in\s+)?(?:the\s+)?{_REF}(?:'s|,)?\s+(?P<field>{_FIELD})\s*"
                        r"(?:should be|is|becomes|to|:|=)\s*(?P<value>.+)", re.I)
_REWRITE_RE = re.compile(rf"\brewrite\s+(?:the\s+)?{_REF}\s*(?:(?:as|to|into)\s*:?|:)\s*(?P<value>.+)", re.I)
_LEVEL_RES = (
    re.compile(rf"\b(?:make|set|mark|change|turn|switch|move)\s+(?:the\s+)?{_REF}\s+(?:to\s+|as\s+|into\s+)?"
               rf"(?:an?\s+)?{_DIFF}\b", re.I),
    re.compile(rf"^\s*(?:the\s+)?{_REF}\s+should\s+be\s+(?:an?\s+)?{_DIFF}\b", re.I),
)
_MERGE_RE = re.compile(r"\b(?:merge|fold|combine|fuse|fold up)\s+(?:the\s+)?(?:categor(?:y|ies)\s+)?['\"]?"
                       r"(?P<a>[\w-]+)['\"]?(?:\s+categor(?:y|ies))?\s+(?:into|in|with|and)\s+(?:the\s+)?['\"]?"
                       r"(?P<b>[\w-]+)['\"]?", re.I)


def _index(m: re.Match[str], size: int) -> int | None:
    groups = m.groupdict()
    if groups.get("idx") or groups.get("hash") or groups.get("nth"):
        return int(groups.get("idx") or groups.get("hash") or groups["nth"])
    word = (groups.get("ord") or "").lower()
    return size if word == "last" else _ORDINALS.get(word)


def _field(word: str) -> str:
    return next(f for pattern, f in _FIELDS.items() if re.fullmatch(pattern, word, re.I))


def _scenario_op(clause: str, categories: list[str], size: int) -> RevisionOp | None:
    """An operation on one scenario (by its position) or a merge of two categories, else None."""
    if m := _REMOVE_RE.search(clause):
        return RevisionOp(action="remove", index=_index(m, size))
    if m := (_SET_RE.search(clause) or _SET_OF_RE.search(clause)):
        value = m["value"].strip().strip("'\"")
        name = _field(m["field"])
        if name == "persona" and (level := _DIFF_MAP.get(value.lower(), value.lower())) in ("easy", "medium", "hard"):
            return RevisionOp(action="set", index=_index(m, size), field="difficulty", value=level)
        return RevisionOp(action="set", index=_index(m, size), field=name, value=value)  # type: ignore[arg-type]
    if m := _REWRITE_RE.search(clause):
        return RevisionOp(action="set", index=_index(m, size), field="opening_message",
                          value=m["value"].strip().strip("'\""))
    if m := next((found for r in _LEVEL_RES if (found := r.search(clause))), None):
        diff = (m["diff"] or "").lower()
        return RevisionOp(action="set", index=_index(m, size), field="difficulty", value=_DIFF_MAP.get(diff, diff))
    if m := _MERGE_RE.search(clause):
        a, b = category_for_topic(m["a"], categories), category_for_topic(m["b"], categories)
        return RevisionOp(action="merge", category=a, into=b) if a in categories and b in categories and a != b \
            else None
    return None


def parse_instruction(instruction: str, categories: list[str], size: int) -> RevisionPlan:
    """Operations in a revision instruction such as "add 3 hard scenarios about refunds; drop category X; make
    scenario 2 hard; change the persona of #3 to a retired teacher; merge billing into refunds"."""
    ops: list[RevisionOp] = []
    unknown: list[str] = []
    for clause in (c.strip(" ,.;!") for c in _SPLIT.split(instruction) if c and c.strip(" ,.;!")):
        if op := _scenario_op(clause, categories, size):
            ops.append(op)
        elif m := _DROP_RE.search(clause):
            cat = category_for_topic(m["cat"], categories)
            ops.append(RevisionOp(action="drop", category=cat)) if cat in categories else unknown.append(clause)
        elif m := _ADD_RE.search(clause):
            raw = (m["count"] or "").lower()
            count = int(raw) if raw.isdigit() else NUMBERS.get(raw, 3)
            diff = _DIFF_MAP.get((m["diff"] or "").lower(), (m["diff"] or "").lower() or None)
            topic = (m["topic"] or "").strip(" .!")
            cat = category_for_topic(topic, categories) if topic else None
            ops.append(RevisionOp(action="add", count=count, difficulty=diff,  # type: ignore[arg-type]
                                  category=cat or (slug(topic) if topic else None)))
        elif m := _STYLE_RE.search(clause):
            raw = (m["count"] or "").lower()
            count = int(raw) if raw.isdigit() else NUMBERS.get(raw) or max(1, size // 4)
            ops.append(RevisionOp(action="restyle", count=count, persona_style=m["style"].lower()))
        else:
            unknown.append(clause)
    notes = f"not understood: {unknown}" if unknown else ""
    return RevisionPlan(operations=ops, understood=bool(ops), notes=notes)


def offline_draft(messages: Sequence[BaseMessage]) -> ScenarioDraft:
    """Offline structured handler for ``ScenarioDraft`` (task propose | add)."""
    try:
        return add_offline(request_of(messages, AddRequest))
    except LookupError:
        return propose_offline(request_of(messages, ProposeRequest))


def offline_plan(messages: Sequence[BaseMessage]) -> RevisionPlan:
    """Offline structured handler for ``RevisionPlan``."""
    req = request_of(messages, RevisionRequest)
    return parse_instruction(req.instruction, req.categories, req.size)


def register_offline_handlers() -> None:
    """Register the dataset builder's offline handlers with the offline model."""
    register_structured_handler(ScenarioDraft, offline_draft)
    register_structured_handler(RevisionPlan, offline_plan)
