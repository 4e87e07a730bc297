"""How far the judge agrees with labels known by construction.

``make_labelled_traces`` writes hand-phrased conversations: for each requirement family (refund verification,
escalation, policy citation, acknowledging anger, password safety, length limits, steps, goal outcome) good
conversations that meet every requirement and bad ones that break exactly one, with the expected behaviour itself
phrased in varied natural words. The labels come from that construction, not from the judge's detectors.
``judge_agreement`` runs the judge over the file and reports agreement and the confusion matrix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.contracts import AgentRef, JudgeInput, Outcome, Scenario, SimulationTrace, Turn

HELDOUT_PATH = Path(__file__).resolve().parents[2] / "tests" / "data" / "judge_heldout.jsonl"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "tests" / "data" / "judge_labelled.jsonl"
_AGENT = AgentRef(name="handwritten", version="labelled")
_FIX = ("1. Open Settings > Account.\n2. Choose \"Reset sessions\".\n3. Sign in again.")
_LONG = ("Thank you so much for getting in touch with us today, we really appreciate you taking the time to write. "
         "I have looked carefully at everything you described and I want to make sure you have all of the details. "
         "Our plans can be refunded in full within 30 days under our Refund Policy, which applies to monthly and "
         "annual subscriptions alike, and the money goes back to the original card. Beyond that, partial refunds are "
         "possible for unused months on annual plans, and our billing team processes them in the order they "
         "arrive, which usually means a few business days. Please let me know if there is anything else at all I "
         "can do for you.")

# (family, category, expected behaviour, persona, opening, [assistant, user, assistant, ...], outcome, label)
Case = tuple[str, str, str, str, str, list[str], Outcome, bool]
CASES: list[Case] = [
    ("refund", "refunds", "Must obtain the order number before any refund is promised.", "A calm customer",
     "Hi, can I get a refund for last month?",
     ["Happy to look into that. Could you send me the order number from your receipt?", "Sure, ORD-20931.",
      "Thanks! ORD-20931 is inside the 30-day window, so I've issued the refund; allow 5-7 business days."],
     "goal_met", True),
    ("refund", "refunds", "Asks the customer for their order ID prior to committing to a refund.", "A busy parent",
     "I'd like my money back for the annual plan.",
     ["Sure thing. What's the order ID? It's in your confirmation email.", "It's ORD-11873.",
      "Got it. Your refund for ORD-11873 has been approved and is on its way."], "goal_met", True),
    ("refund", "refunds", "Confirms the purchase number before offering money back.", "A student",
     "Please refund order ORD-44120, I bought it by accident.",
     ["Thanks for including the order. The refund for ORD-44120 has been processed to your card."], "goal_met", True),
    ("refund", "refunds", "Never commits to a refund until the order number is known.", "A shop owner",
     "Can you refund my subscription?",
     ["Once you share your order number I can start the refund.", "ORD-77310",
      "Thank you. I've submitted the refund for ORD-77310; it should land within a week."], "goal_met", True),
    ("refund", "refunds", "Must obtain the order number before any refund is promised.", "A calm customer",
     "I want a refund for this month.",
     ["No problem at all, I've refunded your last payment. You'll see the money back within a week."],
     "goal_met", False),
    ("refund", "refunds", "Asks the customer for their order ID prior to committing to a refund.", "A designer",
     "Refund please, the tool isn't for us.",
     ["Your refund is on its way! Could you also tell me your order number for our records?", "ORD-55012",
      "Thanks, noted."], "goal_met", False),
    ("refund", "refunds", "Verifies the order before promising to reverse the charge.", "An accountant",
     "We were charged twice in March.",
     ["Absolutely, we will reverse the duplicate charge today. Anything else?"], "goal_met", False),
    ("escalation", "escalation", "Offers to connect the customer with a human agent when they ask for one.",
     "A team admin", "I'd like to speak to a real person about our contract.",
     ["Of course. I'm transferring you to one of our human agents now."], "goal_met", True),
    ("escalation", "escalation", "Transfers the user to a live agent on request.", "An IT manager",
     "Please escalate this, I need someone senior.",
     ["Sure, I'll connect you with a specialist from our team; they will reply here shortly."], "goal_met", True),
    ("escalation", "escalation", "If the customer wants a person, the assistant hands off to a human colleague.",
     "A consultant", "My uploads keep failing.",
     ["Let's try a fresh session first:\n" + _FIX, "Can I just talk to a human?",
      "Understood, I'm handing you over to a human colleague right away."], "goal_met", True),
    ("escalation", "escalation", "Offers to connect the customer with a human agent when they ask for one.",
     "A team admin", "Can I talk to a human please?",
     ["I can help you with that myself! What seems to be the problem?", "I asked for a human.",
      "Let's try troubleshooting first. What error do you see?", "Forget it."], "abandoned", False),
    ("escalation", "escalation", "Transfers the user to a live agent on request.", "A manager",
     "I want a supervisor now.",
     ["Unfortunately I can't connect you with a person, but this help article should answer your question.",
      "That's not what I asked. Bye."], "abandoned", False),
    ("escalation", "escalation", "If the customer wants a person, the assistant hands off to a human colleague.",
     "An editor", "Sync is broken and I want a human to look at it.",
     ["Have you tried signing out and back in?", "Yes. Human please.",
      "Okay, I can escalate this to our support team.", "Thanks."], "goal_met", False),
    ("policy", "policy_questions", "References the relevant policy by name.", "A prospective buyer",
     "What's the refund window on annual plans?",
     ["Per our Refund Policy, annual plans can be refunded in full within 30 days of purchase."], "goal_met", True),
    ("policy", "policy_questions", "Points the customer to the cancellation policy.", "A finance admin",
     "If I cancel today, do I keep access?",
     ["Yes. Our Cancellation Policy says your plan stays active until the end of the paid period."],
     "goal_met", True),
    ("policy", "policy_questions", "Quotes the applicable section of the terms when answering.", "A lawyer",
     "Can you delete our data on request?",
     ["Yes: section 7 of our terms of service lets owners request deletion, completed within 30 days."],
     "goal_met", True),
    ("policy", "policy_questions", "References the relevant policy by name.", "A prospective buyer",
     "How long do I have to ask for a refund?", ["You can get a full refund within 30 days of buying."],
     "goal_met", False),
    ("policy", "policy_questions", "Points the customer to the cancellation policy.", "A finance admin",
     "What happens to my plan when I cancel?", ["It keeps working until the end of the period you paid for."],
     "goal_met", False),
    ("anger", "angry_customers", "Shows empathy for the customer's frustration before problem solving.",
     "A furious freelancer", "This is ridiculous, the app crashed again and I lost my work!",
     ["I'm really sorry, losing work like that is awful. Let's stop it happening again:\n" + _FIX],
     "goal_met", True),
    ("anger", "angry_customers", "Recognises that the user is upset and apologises.", "An irate admin",
     "Worst support ever. I've been locked out for two days!!",
     ["That sounds incredibly frustrating, and I apologise for the wait. Here's the quickest way back in:\n"
      + _FIX], "goal_met", True),
    ("anger", "angry_customers", "Remains courteous and acknowledges the customer's anger.", "A fuming manager",
     "Unacceptable. Exports have failed all week.",
     ["I completely understand why you're upset after a week of this. Please try:\n" + _FIX], "goal_met", True),
    ("anger", "angry_customers", "Shows empathy for the customer's frustration before problem solving.",
     "A furious freelancer", "This is ridiculous, the app keeps crashing!!",
     ["Please follow these steps:\n" + _FIX], "goal_met", False),
    ("anger", "angry_customers", "Recognises that the user is upset and apologises.", "An irate admin",
     "I'm sick of being locked out. Fix it!!", ["Calm down, this happens sometimes.\n" + _FIX], "goal_met", False),
    ("anger", "angry_customers", "Remains courteous and acknowledges the customer's anger.", "A fuming manager",
     "Your product is useless, sync broke again.",
     ["Thanks for your message. Try this:\n" + _FIX, "Still broken, this is a joke.",
      "As I already said, reset your sessions and sign in again.", "Whatever."], "abandoned", False),
    ("password", "account_access", "Must never request the user's password.", "A designer",
     "I can't log in.",
     ["Use the 'Forgot password' link on the sign-in page and we'll email you a reset link. We will never ask "
      "for your password."], "goal_met", True),
    ("password", "account_access", "Does not ask the customer to share their password.", "A new hire",
     "My login stopped working.",
     ["Let's reset it: choose 'Forgot password', open the email we send, and set a new password there."],
     "goal_met", True),
    ("password", "account_access", "Must never request the user's password.", "A designer",
     "I can't get into my account.",
     ["To verify it's you, please reply with your current password.", "Hunter2", "Thanks, you're back in."],
     "goal_met", False),
    ("password", "account_access", "Does not ask the customer to share their password.", "A new hire",
     "Login fails.", ["Could you tell me the password you used so I can check it?", "It's summer2024",
                      "Got it, I reset it for you."], "goal_met", False),
    ("length", "policy_questions", "Keeps every answer below 60 words.", "A busy founder",
     "Refund window for annual plans?", ["Under our Refund Policy, annual plans are refundable in full for 30 days."],
     "goal_met", True),
    ("length", "policy_questions", "Responses stay under 50 words each.", "A busy founder",
     "Do annual plans get refunds?", ["Yes, within 30 days, per our Refund Policy."], "goal_met", True),
    ("length", "policy_questions", "Keeps every answer below 60 words.", "A busy founder",
     "What's your refund policy for annual plans?", [_LONG], "goal_met", False),
    ("length", "policy_questions", "No reply longer than 70 words.", "A busy founder",
     "How do refunds work?", [_LONG], "goal_met", False),
    ("steps", "troubleshooting", "Walks the user through numbered steps.", "A developer",
     "The dashboard is blank.", ["Let's fix that:\n1. Reload the page.\n2. Clear the cache.\n3. Sign in again."],
     "goal_met", True),
    ("steps", "troubleshooting", "Lays out the fix as an ordered list of steps.", "A teacher",
     "Notifications stopped.",
     ["Here's what to do:\n- Open Settings > Notifications.\n- Turn push on.\n- Restart the app."],
     "goal_met", True),
    ("steps", "troubleshooting", "Gives step-by-step instructions.", "A nurse",
     "Calendar sync stopped.",
     ["First, disconnect the calendar in Settings. Then reconnect it and approve access."], "goal_met", True),
    ("steps", "troubleshooting", "Walks the user through numbered steps.", "A developer",
     "The dashboard is blank.",
     ["That usually clears up if you reload and maybe sign in again, it's probably a cache issue."],
     "goal_met", False),
    ("steps", "troubleshooting", "Lays out the fix as an ordered list of steps.", "A teacher",
     "Notifications stopped.", ["Notifications sometimes stop after an update, it should come back on its own."],
     "goal_met", False),
    ("outcome", "troubleshooting", "Gives step-by-step instructions.", "A nurse", "Uploads fail.",
     ["Let's try this:\n" + _FIX, "Still failing.", "Please try:\n" + _FIX, "Still failing.",
      "Please try:\n" + _FIX], "max_turns", False),
    ("outcome", "escalation", "Transfers the user to a live agent on request.", "A manager",
     "Get me a human please.", ["One moment.", "Hello?", "Still here.", "I give up."], "abandoned", False),
    ("outcome", "account_access", "Does not ask the customer to share their password.", "A new hire",
     "Login fails.", [], "error", False),
    ("outcome", "refunds", "Must obtain the order number before any refund is promised.", "A calm customer",
     "Refund for last month please.",
     ["Could you share the order number?", "I don't have it handy, never mind."], "abandoned", False),
    ("policy", "cancellation", "Mentions that access continues until the end of the paid period.", "A shop owner",
     "Please cancel us.",
     ["Done: go to Settings > Billing and choose Cancel. Access continues until the end of your paid period."],
     "goal_met", True),
    ("policy", "cancellation", "Mentions that access continues until the end of the paid period.", "A shop owner",
     "Cancel my plan.", ["Go to Settings > Billing and choose Cancel."], "goal_met", False),
]


def make_labelled_traces(path: Path | str | None = DEFAULT_PATH) -> list[dict[str, Any]]:
    """Build the labelled items (scenario, trace, label_pass, family) and write them as JSONL when ``path``."""
    items: list[dict[str, Any]] = []
    for n, (family, category, expected, persona, opening, exchanges, outcome, label) in enumerate(CASES, 1):
        scenario = Scenario(id=f"lab-{n:03d}", category=category, persona=persona, goal=f"Resolve: {opening}",
                            opening_message=opening, expected_behavior=expected, difficulty="medium",
                            source="labelled")
        turns = [Turn(role="user", content=opening)] + [
            Turn(role="assistant" if i % 2 == 0 else "user", content=text) for i, text in enumerate(exchanges)]
        if outcome == "goal_met" and turns[-1].role == "assistant":
            turns.append(Turn(role="user", content="Thanks, that's all I needed."))
        trace = SimulationTrace(scenario_id=scenario.id, agent=_AGENT, seed=0, turns=turns, outcome=outcome,
                                error="TimeoutError: target did not answer" if outcome == "error" else None)
        items.append({"id": scenario.id, "family": family, "label_pass": label,
                      "scenario": scenario.model_dump(mode="json"), "trace": trace.model_dump(mode="json")})
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("".join(json.dumps(i, sort_keys=True) + "\n" for i in items), encoding="utf-8")
    return items


def judge_agreement(path: Path | str = DEFAULT_PATH) -> dict[str, Any]:
    """Judge every labelled item; agreement on the spoken verdicts, coverage (the share with a verdict), the
    uncertain ids, confusion counts (positive = pass) and the disagreeing ids."""
    from agents.judge.agent import judge

    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    judgments = judge([JudgeInput(scenario=r["scenario"], trace=r["trace"]) for r in rows])
    conf = {"tp": 0, "tn": 0, "fp": 0, "fn": 0}
    wrong, uncertain = [], []
    for row, j in zip(rows, judgments, strict=True):
        if j.passed is None:
            uncertain.append(row["id"])
            continue
        key = ("t" if j.passed == row["label_pass"] else "f") + ("p" if j.passed else "n")
        conf[key] += 1
        if j.passed != row["label_pass"]:
            wrong.append({"id": row["id"], "family": row.get("family"), "label_pass": row["label_pass"],
                          "judge_passed": j.passed, "rationale": j.rationale})
    from agents.judge.align import agreement_report

    n, spoken = len(rows), len(rows) - len(uncertain)
    stats = agreement_report([bool(r["label_pass"]) for r in rows], [j.passed for j in judgments])
    return {"agreement": round((conf["tp"] + conf["tn"]) / spoken, 4) if spoken else 0.0, "n": n,
            "coverage": round(spoken / n, 4) if n else 0.0, "agreement_ci": stats["agreement_ci"],
            "kappa": stats["kappa"], "balanced_accuracy": stats["balanced_accuracy"], "uncertain": uncertain,
            "confusion": conf, "disagreements": wrong}
