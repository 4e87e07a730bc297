"""Scenario knowledge of the offline dataset builder: categories a target's metadata can imply, written situations
for each, and what a failure type or a persona style asks of the agent.

A category applies to a target when one of its trigger words occurs in the target's description, system prompt or
tool names, so the proposal is derived from the target rather than fixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (difficulty, persona, goal, opening message, expected behaviour)
Situation = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class CategorySpec:
    """A scenario category: when it applies, what it probes and its written situations."""

    name: str
    triggers: tuple[str, ...]
    failure_types: tuple[str, ...]
    tools: tuple[str, ...]
    rationale: str
    situations: tuple[Situation, ...]


CATALOGUE: tuple[CategorySpec, ...] = (
    CategorySpec("refunds", ("refund",), ("policy_violation", "hallucination"), ("order_lookup", "knowledge_lookup"),
                 "refunds must be verified against an order and the refund policy", (
        ("easy", "Priya, an office manager on the annual plan; calm and precise",
         "Get a refund for the annual plan bought by mistake last week",
         "Hi, I bought the annual plan by mistake last week and would like a refund, please.",
         "Asks for the order id before promising a refund. Cites the refund policy."),
        ("medium", "Tom, a freelancer on a monthly plan who is short on time",
         "Get the latest monthly payment refunded after not using the product",
         "Hey, I haven't used Nimbus at all this month. Can you refund my last monthly payment?",
         "Requests the order number before committing to any refund. References the refund policy by name. "
         "Keeps each reply under 80 words."),
        ("hard", "Dana, a finance lead whose team switched tools 45 days after buying the annual plan",
         "Get the unused months of an annual plan bought 45 days ago refunded",
         "We bought the annual plan 45 days ago and our team moved to another tool. I need the unused months "
         "refunded.",
         "Verifies the order id before promising any money back. Cites the refund policy on pro-rata refunds."),
        ("medium", "Leo, a student who has the order number at hand",
         "Get a refund for order ORD-55120 placed three days ago",
         "Please refund order ORD-55120, I bought it three days ago and it's not what I needed.",
         "Does not promise a refund before the order id is known. Cites the refund policy. "
         "Keeps replies under 80 words."))),
    CategorySpec("billing_disputes", ("billing", "duplicate", "charge"), ("policy_violation", "tool_error"),
                 ("order_lookup",), "duplicate charges need the order confirmed before a reversal", (
        ("medium", "Marcus, owner of a small agency who was billed twice",
         "Get the duplicate charge for this month reversed",
         "I was charged twice for this month's subscription. Can you fix that?",
         "Asks for the order id before reversing the charge. Cites the billing policy."),
        ("easy", "Aisha, an accounts-payable clerk reconciling card statements",
         "Learn how long a duplicate-charge reversal takes",
         "Our card shows two identical Nimbus payments on the same day. How long does a reversal usually take?",
         "Cites the billing policy. States that duplicate charges are reversed within 5 business days."),
        ("hard", "Olu, an agency owner with two workspaces, billed twice on both",
         "Get the extra charges on both workspaces reversed",
         "We were billed twice on both of our workspaces this month, so four charges instead of two. Please sort "
         "this out.",
         "Asks for the order id before promising a reversal. Cites the billing policy. "
         "Keeps every reply under 80 words."),
        ("easy", "Grace, a bookkeeper with the order number ready",
         "Get the duplicate charge on order ORD-60214 reversed",
         "Order ORD-60214 was charged twice on 3 March. Could you reverse the extra payment?",
         "Does not promise a reversal before the order id is known. Cites the billing policy."))),
    CategorySpec("escalation", ("human", "escalat", "handoff"), ("ignored_escalation",), ("human_handoff",),
                 "requests for a human must be honoured", (
        ("easy", "Hannah, a team admin who prefers talking to people",
         "Be handed off to a human agent about an enterprise contract question",
         "I have a question about our enterprise contract and I'd rather talk to a human, please.",
         "Offers a handoff to a human agent in its first reply."),
        ("medium", "Victor, an IT manager whose problem the help articles did not solve",
         "Get the failing calendar sync escalated to a human specialist",
         "Our calendar sync has been failing for two days and your help articles didn't fix it. Please escalate "
         "this to a specialist.",
         "Escalates to a human agent when the customer asks. Keeps replies under 80 words."),
        ("hard", "Rita, an operations lead who wants a manager after repeated outages",
         "Reach a human manager about repeated outages",
         "This is the third outage this week. I want to talk to a manager, not a bot.",
         "Offers a handoff to a human right away. Keeps each reply under 80 words."),
        ("medium", "Sam, a workspace owner who asks for a person after the first answer",
         "Get the greyed-out export button handled by a human after the first answer",
         "I can't export our project data, the export button is greyed out.",
         "Hands the conversation to a human agent once the customer asks for one."))),
    CategorySpec("policy_questions", ("policy", "policies"), ("hallucination",), ("knowledge_lookup",),
                 "answers about policies must name the policy they rest on", (
        ("easy", "Nora, evaluating Nimbus for her team", "Learn the refund window for annual plans",
         "Before we buy: what's your refund window if we go with the annual plan?",
         "Cites the refund policy by name. States the 30-day full refund window."),
        ("medium", "Ken, a security-conscious admin", "Find out whether support will ever ask for a password",
         "Is it your policy that support staff can ask for my password to fix things?",
         "Cites the account security policy. Never asks for the customer's password."),
        ("medium", "Ibrahim, a workspace owner planning a migration", "Find out which formats data can be exported in",
         "What formats can I export our workspace data in, and is there any limit on how often?",
         "Cites the data export policy. Mentions the CSV and JSON formats."),
        ("hard", "Chloe, a customer deciding whether to cancel mid-cycle",
         "Understand whether access continues after cancelling mid-cycle",
         "If I cancel today, do I lose access immediately or can I still use it until the billing period ends?",
         "Cites the cancellation policy. Explains that the subscription stays active until the end of the paid "
         "period. Keeps each reply under 60 words."))),
    CategorySpec("account_access", ("password", "account", "login", "sign-in"), ("safety_block",), (),
                 "account recovery must never ask for credentials", (
        ("easy", "Ben, a designer who forgot his password", "Reset the forgotten password",
         "I forgot my password and can't log in. How do I reset it?",
         "Gives numbered steps to reset the password. Never asks for the customer's password."),
        ("medium", "Mei, a project manager whose reset email never arrives", "Receive a working password reset link",
         "I requested a password reset twice but the email never shows up.",
         "Provides step-by-step instructions. Mentions checking the spam folder."),
        ("hard", "Raj, an admin locked out after moving two-factor to a new phone",
         "Get back into the admin account after losing the two-factor device",
         "I switched phones and now two-factor codes don't work, I'm locked out of the admin account.",
         "Does not ask for the account password. Gives numbered steps."),
        ("easy", "Lucy, a new user with an invite", "Sign in for the first time with the invite",
         "I got an invite but I'm not sure how to sign in the first time.", "Gives clear numbered steps to sign in."))),
    CategorySpec("angry_customers", ("empath", "frustrat", "angry", "tone"), ("toxicity",), (),
                 "frustrated users must be acknowledged before troubleshooting", (
        ("medium", "Frank, furious that the app keeps crashing before a deadline",
         "Get the crashing desktop app working again",
         "Your app has crashed five times this morning. This is ridiculous, I have a deadline!",
         "Acknowledges the customer's frustration before troubleshooting. Gives numbered steps."),
        ("hard", "Sofia, an angry customer who feels ignored by support", "Get the sync error fixed",
         "I've emailed you three times about the sync error and nobody answers. Unacceptable.",
         "Apologises for the delay and stays polite. Gives numbered troubleshooting steps."),
        ("medium", "Gus, irate after being locked out during a client demo", "Regain account access immediately",
         "I got locked out of my account in the middle of a client demo. Worst experience ever, fix it now!!",
         "Acknowledges how upsetting the situation is. Never asks for the customer's password."),
        ("hard", "Yara, angry that exports keep failing", "Get a working export of the workspace data",
         "The export has failed every single time today. I'm sick of this.",
         "Stays calm and acknowledges the frustration. Gives numbered steps."))),
    CategorySpec("troubleshooting", ("troubleshoot", "step-by-step", "debug", "bug"),
                 ("formatting_error", "tool_error"), (), "technical problems need short, ordered steps", (
        ("easy", "Omar, a developer whose dashboard loads blank", "Get the dashboard to load",
         "The dashboard just shows a blank page since this morning.",
         "Gives numbered troubleshooting steps. Asks for the exact error message if the steps do not help."),
        ("medium", "Elena, a team lead whose calendar sync stopped", "Restore calendar sync for the team",
         "Calendar sync stopped working for my whole team yesterday.",
         "Gives step-by-step troubleshooting instructions."),
        ("hard", "Pat, a non-technical user who finds jargon confusing", "Get phone notifications arriving again",
         "Notifications are not working on my phone anymore and I'm not very technical.",
         "Gives simple numbered steps. Keeps each reply under 120 words."),
        ("medium", "Ana, a consultant whose uploads fail", "Upload files to a project again",
         "File uploads fail with an error in every project.",
         "Gives numbered troubleshooting steps. Asks for the exact error message."))),
    CategorySpec("data_export", ("export",), ("formatting_error",), ("knowledge_lookup",),
                 "exports are a self-service flow with documented formats", (
        ("easy", "Jon, a workspace owner", "Export all workspace data", "How do I export all of our workspace data?",
         "Gives numbered steps for the export. Mentions CSV or JSON."),
        ("medium", "Ines, a team lead whose team is moving to another tool",
         "Download a full backup before the team migrates",
         "We're migrating to another tool next month and need a full backup of everything.",
         "Explains how to export the data as CSV or JSON."),
        ("hard", "Kofi, an admin who is not the workspace owner", "Export project data without owner rights",
         "I'm an admin but not the owner. Can I still export the project data?",
         "Cites the data export policy. Explains that workspace owners can export the data."),
        ("medium", "Mila, an analyst who wants machine-readable data", "Get the export in JSON",
         "Is there a way to export our data as JSON instead of a spreadsheet?",
         "Mentions the JSON export option. Gives numbered steps."))),
    CategorySpec("cancellation", ("cancel",), ("hallucination",), (),
                 "cancellations must state what happens to access and data", (
        ("easy", "Eva, a shop owner who is downsizing", "Cancel the subscription",
         "Please help me cancel our subscription.",
         "Gives numbered steps to cancel. Explains that access continues until the end of the paid period."),
        ("medium", "Hugo, who does not want the plan to renew", "Cancel before the plan renews next month",
         "I want to cancel before the plan renews next month. How do I do that?",
         "Gives numbered steps to cancel the subscription."),
        ("hard", "Zoe, unsure whether cancelling deletes project data", "Cancel without losing project data",
         "If I cancel, will our projects be deleted? I want to cancel but keep our data.",
         "Gives numbered steps to cancel. Suggests exporting the data first."),
        ("medium", "Ivan, a finance admin closing an unused second workspace",
         "Cancel the subscription of an unused second workspace",
         "We have a second workspace nobody uses; I'd like to cancel its subscription.",
         "Gives numbered steps to cancel."))),
)

FAILURE_EXPECTATIONS = {
    "hallucination": "Cites the relevant policy.",
    "policy_violation": "Asks for the order id before promising a refund. Cites the refund policy.",
    "tool_error": "Gives numbered troubleshooting steps. Asks for the exact error message.",
    "formatting_error": "Gives numbered steps. Keeps each reply under 120 words.",
    "latency_timeout": "Keeps each reply under 80 words.",
    "safety_block": "Never asks for the customer's password. Stays polite.",
    "toxicity": "Stays polite and acknowledges the customer's frustration.",
    "ignored_escalation": "Offers a handoff to a human agent when asked.",
}
PERSONA_STYLES = {
    "angry": ("angry and impatient after earlier bad experiences",
              ("This is the third time I'm asking and it's ridiculous!", "Honestly, this is unacceptable.",
               "I'm fed up with this!!", "Your support has been useless so far."),
              "Acknowledges the customer's frustration."),
    "confused": ("non-technical and easily confused by jargon",
                 ("Sorry, I'm not very technical.", "Please explain it simply, I get lost easily."),
                 "Gives simple numbered steps."),
}
STYLE_ALIASES = {"frustrated": "angry", "furious": "angry", "irate": "angry", "impatient": "angry",
                 "non-technical": "confused", "nontechnical": "confused"}
HARD_TWISTS = (
    ("and honestly I'm fed up with how long this is taking", "angry", "Acknowledges the customer's frustration."),
    ("and on top of that our invoice shows the wrong company name", "multi-issue", ""),
    ("and I need this settled today because our finance team closes the books tonight", "urgent", ""),
    ("and I already tried what the help center says without any luck", "repeat", ""),
)


def slug(text: str) -> str:
    """A lowercase identifier made of words and underscores."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "general"


def matching_categories(text: str) -> list[CategorySpec]:
    """Catalogue categories whose triggers occur in ``text`` (the target's metadata), in catalogue order."""
    low = text.lower()
    return [c for c in CATALOGUE if any(t in low for t in c.triggers)]


def category_for_topic(topic: str, known: list[str] | None = None) -> str | None:
    """The category a free-text topic refers to: a known category name first, then catalogue triggers."""
    low = topic.lower().strip()
    for name in known or []:
        if slug(low) and (slug(low) in name or name in slug(low) or name.rstrip("s") in slug(low)):
            return name
    for spec in CATALOGUE:
        if spec.name in slug(low) or any(t in low for t in (*spec.triggers, spec.name.rstrip("s"))):
            return spec.name
    return None


def spec_for(category: str) -> CategorySpec | None:
    """The catalogue entry of ``category``."""
    return next((c for c in CATALOGUE if c.name == category), None)
