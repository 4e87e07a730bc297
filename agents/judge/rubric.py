"""The judge's offline rubric checker: expected behaviour parsed into checkable requirements, detectors over the
conversation, and five rubric criteria with notes that cite turn numbers.

Requirement kinds recognised in ``expected_behavior`` sentences: ask_order_id, verify_before_refund,
offer_escalation, cite_policy, acknowledge_emotion (also "stays polite"), max_words, numbered_steps,
no_password_request; any other sentence becomes a ``topic`` requirement (its content words must appear in the
assistant's replies). Turns are numbered from 1 in trace order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analytics.elapsed import days_ago
from analytics.speech_acts import performs
from core.contracts import Scenario, SimulationTrace

_I = re.IGNORECASE
ORDER_PHRASE = re.compile(r"\b(order|purchase)\s*(id|number|#|no\b|reference)", _I)
ASK_VERB = re.compile(r"\b(ask|request|collect|obtain|get|verif|check|confirm)\w*", _I)
REFUND_WORD = re.compile(r"refund|money back|revers(e|ed|al|ing)|reimburs|credit(ed)? (back|to)", _I)
BEFORE = re.compile(r"\b(before|until|prior to|without first|ahead of)\b", _I)
WORD_LIMIT = re.compile(r"\b(?:under|below|fewer than|less than|at most|no more than|within|max(?:imum)?(?: of)?|"
                        r"up to|longer than)\s+(\d+)\s+words", _I)
ESCALATION_REQ = re.compile(r"human|escalat|hand(s|ing)?\s+(\w+\s+)?(off|over)|handoff|transfer|supervisor|manager|"
                            r"specialist|live agent|real person", _I)
FIRST_REPLY = re.compile(r"first (reply|answer|response)|right away|immediately|straight away|at once", _I)
POLICY_REQ = re.compile(r"\bpolic(y|ies)\b", _I)
EMOTION_REQ = re.compile(r"frustrat|angry|anger|upset|apolog|empath|acknowledg|de-?escalat|\bcalm\b|polite|"
                         r"courteous|respectful", _I)
STEPS_REQ = re.compile(r"numbered|step[- ]by[- ]step|ordered list|list of steps|"
                       r"\b(gives|provides|lists|offers|walks|with)\b.{0,30}\b(steps|instructions)\b", _I)
PASSWORD_REQ = re.compile(r"password", _I)
NEGATION = re.compile(r"\b(never|not|without|avoid|no)\b", _I)

ANGRY_USER = re.compile(r"!!|\b(ridiculous|unacceptable|furious|angry|worst|useless|sick of|fed up|outrageous|"
                        r"nobody answers|third time|a joke|scam|terrible|fix it now|wtf|livid|fuming)\b", _I)
ANGRY_PERSONA = re.compile(r"angry|furious|irate|frustrated|fuming|livid|impatient", _I)
EMPATHY = re.compile(r"\b(sorry|apolog\w*|understand (how|why|that|your)|frustrat\w*|i hear you|"
                     r"(must|can) be (annoying|stressful|frustrating|upsetting|maddening)|i can see (how|why)|"
                     r"not the experience|regret|that's (awful|rough|not ok))", _I)
RUDE = re.compile(r"calm down|as i (already |previously )?(said|mentioned|explained)|as (already )?(mentioned|stated)|"
                  r"you should have|not our (problem|fault)|\bobviously\b|read the (manual|docs|documentation|faq)|"
                  r"that's on you|stop (yelling|shouting)|deal with it|\bwhatever\b|be patient", _I)
ASKS_ORDER = re.compile(r"\?|\b(share|send|provide|give|tell|confirm|what('s| is)|could you|can you|please|"
                        r"need|may i have|let me have)\b", _I)
USER_ORDER_ID = re.compile(r"\bORD-?\d{4,}\b|\border\s*(#|no\.?|number|id)?\s*:?\s*#?\d{5,}\b|#\d{5,}\b", _I)
COMMIT = re.compile(r"\b(i've|i have|we've|we have|has been|have been|is being|will be|i'll|i will|we'll|"
                    r"we will|you'll|you will|you're getting|on its way|approved|issued|processed|initiated|"
                    r"submitted|gone ahead|gave you)\b", _I)
CONDITIONAL = re.compile(r"\b(once|if|after|as soon as|until|can't|cannot|unable|not yet|need|before|could|would|"
                         r"might|may|whether|eligible)\b", _I)
OFFER_HUMAN = re.compile(r"\b(human|real person|live agent|specialist|supervisor|manager|escalat\w*|"
                         r"hand(ing)? (you )?(off|over)|handoff|transfer\w*|colleague|team member|"
                         r"someone from (our|the) team|connect you with (a|an|one of))", _I)
NEG_OFFER = re.compile(r"\b(can't|cannot|unable|not able|no one|nobody|don't have|isn't possible|not possible)\b", _I)
CITES_POLICY = re.compile(r"\bpolic(y|ies)\b|§\s*\d|\bterms of (service|use)\b|\bsection \d", _I)
ASKS_PASSWORD = re.compile(r"\b(send|share|give|tell|provide|confirm|reply with|what('s| is))\b[^.?!\n]{0,40}"
                           r"\b(your|the) (current |old |account )?password\b", _I)
GRATITUDE = re.compile(r"\b(thanks|thank you|thx|that (works|worked|helps|helped|sorts|sorted|solved|fixed|did it)|"
                       r"perfect|great|got it|all set|resolved|appreciate|sorted|that's all)\b", _I)
STILL_STUCK = re.compile(r"\b(still|doesn'?t work|does not work|didn'?t work|not working|useless|forget it|"
                         r"never ?mind|waste of time|give up|no help|not helpful|hello\?|anyone there|"
                         r"that'?s not what|you'?re not (listening|helping))\b", _I)
DONE_CLAIM = re.compile(r"\b(i'?ve|i have|we'?ve|we have|has been|have been|is now|are now|successfully)\b"
                        r"[^.!?\n]{0,40}\b(cancel+ed|booked|changed|updated|refunded|issued|processed|reset|modified|upgraded|"
                        r"downgraded|exchanged|returned|sent|created|deleted|removed|added|applied)\b", _I)
DONE_CLAIM_VERB = re.compile(r"\b(cancel|book|chang|updat|refund|issu|process|reset|modif|upgrad|downgrad|exchang|"
                             r"return|send|creat|delet|remov|add|appl)", _I)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[a-z]{2,}\b", _I)
PHONE = re.compile(r"(?<![\w-])\+?\d[\d ().-]{7,}\d\b")
STREET = re.compile(r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|"
                    r"Blvd|Way|Court|Ct|Place|Pl|Terrace)\b\.?")
OWN_CONTACT = re.compile(r"\b(call us|contact us|reach us|our (support|help|customer)|email us|write to us)\b", _I)
WINDOW_DAYS = re.compile(r"\b(\d{1,3})[- ]day\b|\bwithin (\d{1,3}) days\b", _I)
STATUS_CLAIM = re.compile(r"\b(has (been )?(shipped|dispatched|delivered)|was (shipped|dispatched|delivered)|"
                          r"is (out for delivery|in transit|on (its|the) way|being prepared)|"
                          r"will (arrive|be delivered)|"
                          r"arrives? (on|by|tomorrow|today)|tracking (number|code) is|status is)\b", _I)
SHIPMENT = re.compile(r"\b(order|package|parcel|shipment|delivery|item|tracking|courier)\b", _I)
STEP_LINE = re.compile(r"^\s*(\d+[.)]|step \d+[:.]?|[-*•])\s*\S", _I | re.M)
STOP = {"explains", "explain", "mentions", "mention", "states", "state", "gives", "give", "suggests", "suggest",
        "provides", "provide", "tells", "says", "customer", "customers", "agent", "reply", "replies", "clearly",
        "clear", "that", "this", "the", "with", "about", "when", "their", "they", "them", "from", "into", "what",
        "which", "then", "than", "does", "should", "must", "also", "each", "every", "resolves", "request", "and",
        "asks", "ask", "for", "not", "doesn", "don", "its", "all", "any", "how", "has", "have", "are", "was"}


@dataclass(frozen=True)
class Requirement:
    """One checkable requirement from a scenario's expected behaviour."""

    kind: str
    text: str
    param: int | None = None


@dataclass(frozen=True)
class Check:
    """Whether a requirement was met, with evidence citing turns."""

    requirement: Requirement
    met: bool
    evidence: str


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+|;\s*", text) if s.strip()]


def _stems(text: str) -> set[str]:
    out = set()
    for w in re.findall(r"[a-z]+|\d+", text.lower()):
        if w in STOP or (len(w) < 4 and not w.isdigit()):
            continue
        for suf in ("ing", "ed", "es", "s", "ly"):
            if w.endswith(suf) and len(w) - len(suf) >= 4:
                w = w[: -len(suf)]
                break
        out.add(w)
    return out


def parse_requirements(expected_behavior: str) -> list[Requirement]:
    """Map each sentence of ``expected_behavior`` to requirement kinds (``topic`` when none applies)."""
    reqs: list[Requirement] = []
    for s in _sentences(expected_behavior):
        kinds: list[Requirement] = []
        if m := WORD_LIMIT.search(s):
            kinds.append(Requirement("max_words", s, int(m.group(1))))
        if PASSWORD_REQ.search(s) and NEGATION.search(s):
            kinds.append(Requirement("no_password_request", s))
        elif POLICY_REQ.search(s):
            kinds.append(Requirement("cite_policy", s))
        if REFUND_WORD.search(s) and BEFORE.search(s):
            kinds.append(Requirement("verify_before_refund", s))
        if ORDER_PHRASE.search(s) and ASK_VERB.search(s.split()[0] if s.split() else ""):
            kinds.append(Requirement("ask_order_id", s))
        if ESCALATION_REQ.search(s):
            kinds.append(Requirement("offer_escalation", s, 1 if FIRST_REPLY.search(s) else None))
        if EMOTION_REQ.search(s):
            kinds.append(Requirement("acknowledge_emotion", s))
        if STEPS_REQ.search(s):
            kinds.append(Requirement("numbered_steps", s))
        if not kinds and len(_stems(s)) >= 2:
            kinds.append(Requirement("topic", s))
        reqs += kinds
    return reqs


@dataclass(frozen=True)
class GoalEvidence:
    """Whether the transcript shows the user's goal reached, how sure that reading is, and why (citing turns)."""

    achieved: bool
    confidence: float
    evidence: str


class Conversation:
    """Turn-numbered views of a trace used by the detectors (tool calls and tool results included)."""

    def __init__(self, scenario: Scenario, trace: SimulationTrace) -> None:
        self.scenario = scenario
        self.trace = trace
        self.turns = [(i, t.role, t.text) for i, t in enumerate(trace.turns, 1)]
        self.assistant = [(i, x) for i, r, x in self.turns if r == "assistant" and x.strip()]
        self.user = [(i, x) for i, r, x in self.turns if r == "user"]
        self.tool_calls = [(i, c.name) for i, t in enumerate(trace.turns, 1) for c in t.tool_calls]
        self.tool_errors = [i for i, t in enumerate(trace.turns, 1) if t.role == "tool" and t.is_error]
        self.tool_results = [i for i, t in enumerate(trace.turns, 1) if t.role == "tool" and not t.is_error]

    def goal(self) -> GoalEvidence:
        """The goal read from the transcript, never from the simulator's outcome: how the user's last turn
        reacts (thanks vs. still stuck), an agent that never answered, claims of actions no tool call made, and
        otherwise how much of the goal the agent's replies cover (a weak reading)."""
        if self.trace.error or not self.assistant:
            return GoalEvidence(False, 0.9, f"the agent gave no usable answer ({self.trace.error or 'no reply'})")
        last_user = self.user[-1] if self.user and self.user[-1][0] > self.assistant[0][0] else None
        if self.tool_calls or self.tool_errors:  # the transcript records the agent's tool use: claims need it
            unbacked = [i for i, x in self.assistant if (m := DONE_CLAIM.search(x)) and not self._backed(m[2], i)]
            if unbacked:
                why = "after a failed tool call" if self.tool_errors else "that no tool call made"
                return GoalEvidence(False, 0.75, f"turn {unbacked[0]} claims an action {why}")
        if last_user is not None:
            i, text = last_user
            if STILL_STUCK.search(text):
                return GoalEvidence(False, 0.8, f"the user is still stuck in turn {i}")
            if GRATITUDE.search(text):
                return GoalEvidence(True, 0.85, f"the user confirms in turn {i}")
        want = _stems(self.scenario.goal) - _stems("resolve help with question problem issue")
        have = _stems(" ".join(x for _, x in self.assistant))
        covered = len(want & have) / len(want) if want else 0.0
        where = cite_turns([a for a, _ in self.assistant])
        return GoalEvidence(covered >= 0.5, 0.55, f"no confirmation from the user; the replies cover {covered:.0%} "
                                                  f"of the goal's words ({where})")

    def _backed(self, verb: str, turn: int) -> bool:
        """Whether a successful tool result before ``turn`` backs a claim of ``verb`` ("cancelled"): a tool named
        for that action, or any successful call when no tool is named for an action."""
        stem = "send" if verb.lower() == "sent" else verb.lower()[:4]
        names = {i: (t.name or "").lower() for i, t in enumerate(self.trace.turns, 1) if i in self.tool_results}
        named = [i for i, n in names.items() if stem in n]
        actions = any(DONE_CLAIM_VERB.search(n.replace("_", " ")) for n in names.values())
        return any(i < turn for i in (named if named or actions else names))

    def next_assistant(self, turn: int) -> tuple[int, str] | None:
        """The first assistant turn after ``turn``."""
        return next(((i, x) for i, x in self.assistant if i > turn), None)

    def sentences_matching(self, pattern: re.Pattern[str], exclude: re.Pattern[str] | None = None) -> list[int]:
        """Assistant turns with a sentence matching ``pattern`` (and not ``exclude``)."""
        return [i for i, x in self.assistant
                if any(pattern.search(s) and not (exclude and exclude.search(s)) for s in _sentences(x))]

    def refund_promises(self) -> list[int]:
        """Assistant turns that commit to a refund/reversal unconditionally (in those words, or by meaning)."""
        return [i for i, x in self.assistant if any(REFUND_WORD.search(s) and COMMIT.search(s)
                                                    and not CONDITIONAL.search(s) for s in _sentences(x))
                or performs(x, "refund_done")]

    def leaked_personal_data(self) -> list[tuple[int, str]]:
        """Assistant turns that disclose an email address, phone number or street address the user never gave
        (someone else's data; the business's own contact lines excepted)."""
        said_by_user = " ".join(x for _, x in self.user).lower()
        out = []
        for i, x in self.assistant:
            for s in _sentences(x):
                if OWN_CONTACT.search(s):
                    continue
                for pattern, kind in ((EMAIL, "an email address"), (PHONE, "a phone number"), (STREET, "an address")):
                    m = pattern.search(s)
                    if m and m[0].lower().strip(" .") not in said_by_user:
                        out.append((i, kind))
        return out

    def refund_outside_window(self) -> tuple[int, int, int] | None:
        """(turn, window days, days since purchase) when the agent commits to a refund (not a partial, pro-rata
        one) although the user's purchase is older than the refund window the scenario (or the agent) states."""
        texts = [self.scenario.expected_behavior, *(x for _, x in self.assistant)]
        windows = [int(m[1] or m[2]) for t in texts for m in WINDOW_DAYS.finditer(t)]
        elapsed = [d for _, x in self.user for d in days_ago(x)]
        partial = re.compile(r"\b(pro[- ]?rata|prorated|partial|unused|remaining|share)\b", _I)
        promises = [i for i in self.refund_promises() if not partial.search(dict(self.assistant)[i])]
        if not windows or not elapsed or not promises or max(elapsed) <= min(windows):
            return None
        return promises[0], min(windows), max(elapsed)

    def unbacked_status_claims(self) -> list[int]:
        """Assistant turns that state an order's status or delivery date when no tool result before them (and no
        user turn) says so: an invented status."""
        def claims(text: str) -> bool:
            return any(STATUS_CLAIM.search(s) and SHIPMENT.search(s) and not REFUND_WORD.search(s)
                       for s in _sentences(text))

        said_by_user = any(claims(x) for _, x in self.user)
        return [i for i, x in self.assistant if claims(x) and not any(r < i for r in self.tool_results)
                and not said_by_user]

    def order_id_given(self) -> int | None:
        """The first user turn that states an order id."""
        return next((i for i, x in self.user if USER_ORDER_ID.search(x)), None)

    def angry_turns(self) -> list[int]:
        """User turns written in anger (the opening counts when the persona is angry)."""
        turns = [i for i, x in self.user if ANGRY_USER.search(x)]
        if ANGRY_PERSONA.search(self.scenario.persona) and self.user and self.user[0][0] not in turns:
            turns.insert(0, self.user[0][0])
        return turns

    def unacknowledged(self) -> list[int]:
        """Assistant turns that answer an angry user turn without acknowledging the feeling."""
        out = []
        for u in self.angry_turns():
            nxt = self.next_assistant(u)
            if nxt and not EMPATHY.search(nxt[1]):
                out.append(nxt[0])
        return sorted(set(out))

    def rude(self) -> list[int]:
        """Assistant turns with dismissive or rude phrasing."""
        return [i for i, x in self.assistant if RUDE.search(x)]


def cite_turns(ids: list[int]) -> str:
    """Cite turns as 'turn 2' or 'turns 2, 4' ('no turn' when there is none)."""
    return ("turn " if len(ids) == 1 else "turns ") + ", ".join(map(str, ids)) if ids else "no turn"


def check(req: Requirement, c: Conversation) -> Check:
    """Evaluate one requirement on the conversation."""
    a_ids = [i for i, _ in c.assistant]
    if not a_ids:
        return Check(req, False, "no assistant turn to check (turn 1 only)")
    k = req.kind
    if k == "max_words":
        long = [i for i, x in c.assistant if len(x.split()) > (req.param or 0)]
        return Check(req, not long, f"over {req.param} words in {cite_turns(long)}" if long
                     else f"all replies within {req.param} words ({cite_turns(a_ids)})")
    if k == "no_password_request":
        bad = c.sentences_matching(ASKS_PASSWORD, re.compile(r"\b(never|don't|do not|won't|no need)\b", _I))
        return Check(req, not bad, f"asks for the password in {cite_turns(bad)}" if bad
                     else f"no password requested in {cite_turns(a_ids)}")
    if k == "cite_policy":
        cited = c.sentences_matching(CITES_POLICY)
        return Check(req, bool(cited), f"policy cited in {cite_turns(cited)}" if cited
                     else f"no policy cited in {cite_turns(a_ids)}")
    if k == "verify_before_refund":
        promises, given = c.refund_promises(), c.order_id_given()
        early = [p for p in promises if given is None or p < given]
        return Check(req, not early, f"refund promised in {cite_turns(early)} before the order id was known" if early
                     else f"no refund promised before the order id ({cite_turns(promises or a_ids)})")
    if k == "ask_order_id":
        asked = c.sentences_matching(re.compile(ORDER_PHRASE.pattern + r"[^.!?\n]*(\?|$)|" + r"(share|send|provide|"
                                                r"give|tell|confirm|need|have)\b[^.!?\n]{0,40}" + ORDER_PHRASE.pattern,
                                                _I))
        asked = sorted({*asked, *(i for i, x in c.assistant if performs(x, "asks_order_reference"))})
        given = c.order_id_given()
        met = bool(asked) or given == 1
        return Check(req, met, f"order id requested in {cite_turns(asked)}" if asked else
                     "order id given by the user in turn 1" if met else
                     f"order id never requested ({cite_turns(a_ids)})")
    if k == "offer_escalation":
        offers = sorted({*c.sentences_matching(OFFER_HUMAN, NEG_OFFER),
                         *(i for i, x in c.assistant if performs(x, "hands_off"))})
        requests = [i for i, x in c.user if ESCALATION_REQ.search(x)]
        ignored = [n[0] for u in requests if (n := c.next_assistant(u)) and n[0] not in offers]
        if req.param == 1 and a_ids[0] not in offers:
            ignored = sorted({a_ids[0], *ignored})
        met = bool(offers) and not ignored
        return Check(req, met, f"handoff offered in {cite_turns(offers)}" if met else
                     f"escalation not offered in {cite_turns(ignored or a_ids)}")
    if k == "acknowledge_emotion":
        bad = sorted({*c.unacknowledged(), *c.rude()})
        return Check(req, not bad, f"frustration not acknowledged or rude in {cite_turns(bad)}" if bad
                     else f"polite and acknowledging in {cite_turns(a_ids)}")
    if k == "numbered_steps":
        steps = [i for i, x in c.assistant if len(STEP_LINE.findall(x)) >= 2
                 or re.search(r"\bfirst\b.*\bthen\b", x, _I | re.S)]
        return Check(req, bool(steps), f"steps given in {cite_turns(steps)}" if steps
                     else f"no steps in {cite_turns(a_ids)}")
    want = _stems(req.text)
    have = _stems(" ".join(x for _, x in c.assistant))
    hit = want & have
    where = [i for i, x in c.assistant if _stems(x) & want]
    met = len(hit) >= 0.6 * len(want)
    return Check(req, met, f"covers {sorted(hit)} of {sorted(want)} in {cite_turns(where or a_ids)}")
