"""Request texts for the synthetic telemetry: instruction texts, request templates with slots, prefixes.

``request_text = prefix + request_text_template`` where ``request_text_template`` is a slot-filled template of
the row's use case (at least 15 templates per use case). ``coding_assistant`` additionally has
:data:`SECURITY_TEMPLATES` (requests about exploits / attacking systems) that feed the planted safety-block
incident. The six instruction texts are the real ones of the public prompts lookup (one per use case).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INSTRUCTION_TEXTS: dict[str, str] = {
    "brainstorming": (
        "You are a creative assistant helping users explore ideas and options. Suggest multiple alternatives, "
        "structure them clearly, and stay practical."
    ),
    "coding_assistant": (
        "You are a senior software engineer helping users with code, debugging, and best practices. Provide "
        "clear explanations, structured steps, and high-quality code examples when relevant."
    ),
    "content_writing": (
        "You are a writing assistant helping users craft clear, engaging, and well-structured content. Keep the "
        "tone natural, readable, and aligned with the user's intent."
    ),
    "customer_support": (
        "You are a helpful customer support assistant for a SaaS product. Answer clearly, empathetically, and "
        "step-by-step while keeping the response concise and practical."
    ),
    "data_analysis": (
        "You are a data analysis assistant helping users reason about data, metrics, and models. Explain "
        "trade-offs, outline steps, and keep the language accessible but precise."
    ),
    "internal_qa": (
        "You are an internal knowledge assistant helping teammates navigate documentation, policies, and "
        "internal tools. Be precise, concise, and point to relevant information and next steps."
    ),
}

PREFIXES: tuple[str, ...] = (
    "Quick question: ", "Context for you: ", "Hi! ", "Hey there! ", "Need help: ", "Urgent: ", "Follow-up: ",
    "Question from the team: ", "Hello! ", "Can you help? ", "FYI: ", "One more thing: ",
)  # fmt: skip

SLOTS: dict[str, dict[str, tuple[str, ...]]] = {
    "brainstorming": {
        "thing": ("a team offsite", "a product launch", "a customer webinar", "an onboarding flow",
                  "a referral program", "a hackathon", "a newsletter", "a loyalty scheme", "a pricing page"),
        "audience": ("developers", "small businesses", "students", "remote teams", "first-time users",
                     "enterprise buyers", "designers"),
        "n": ("3", "5", "7", "10"),
        "constraint": ("a tight budget", "two weeks", "no engineering help", "a fully remote team",
                       "strict brand guidelines"),
    },
    "coding_assistant": {
        "lang": ("Python", "TypeScript", "Go", "Rust", "Java", "SQL", "Bash", "C#", "Kotlin"),
        "thing": ("a REST client", "a retry decorator", "a CSV parser", "a rate limiter", "a LRU cache",
                  "a websocket handler", "a database migration", "a CLI tool", "a unit test suite"),
        "error": ("a KeyError", "a null pointer exception", "a race condition", "a memory leak",
                  "a deadlock", "an off-by-one error", "a timeout", "a segfault"),
        "lib": ("pandas", "React", "Django", "FastAPI", "Spring Boot", "SQLAlchemy", "asyncio", "Kubernetes"),
    },
    "content_writing": {
        "piece": ("a blog post", "a product announcement", "a LinkedIn post", "an email campaign",
                  "a landing page", "a case study", "a press release", "release notes"),
        "topic": ("our new analytics dashboard", "remote work tips", "data privacy", "AI in customer service",
                  "sustainable packaging", "our spring sale", "the 2025 product roadmap"),
        "tone": ("friendly", "formal", "playful", "concise", "persuasive", "empathetic"),
        "n": ("150", "300", "500", "800"),
    },
    "customer_support": {
        "feature": ("billing", "SSO login", "the mobile app", "CSV export", "API keys", "two-factor auth",
                    "team invitations", "webhooks", "the Slack integration", "invoices"),
        "symptom": ("keeps failing", "shows an error 500", "is very slow", "does not load",
                    "logs me out", "charges me twice", "is missing data"),
        "plan": ("Free", "Pro", "Business", "Enterprise"),
        "when": ("since yesterday", "after the last update", "since this morning", "for a week"),
    },
    "data_analysis": {
        "metric": ("churn rate", "monthly active users", "conversion rate", "average order value",
                   "customer lifetime value", "p95 latency", "retention", "NPS"),
        "table": ("orders", "events", "subscriptions", "sessions", "invoices", "tickets"),
        "method": ("a t-test", "a regression", "a cohort analysis", "an A/B test", "a time-series forecast",
                   "k-means clustering"),
        "dim": ("region", "plan", "signup month", "channel", "device type"),
    },
    "internal_qa": {
        "policy": ("the travel policy", "the expense policy", "the on-call policy", "the data retention policy",
                   "the remote work policy", "the security policy", "the parental leave policy"),
        "tool": ("Jira", "Confluence", "the VPN", "the HR portal", "the deploy pipeline", "Okta",
                 "the staging cluster"),
        "team": ("finance", "legal", "IT", "platform", "people ops", "security"),
        "doc": ("the onboarding guide", "the incident runbook", "the style guide", "the architecture docs"),
    },
}  # fmt: skip

TEMPLATES: dict[str, tuple[str, ...]] = {
    "brainstorming": (
        "Give me {n} ideas for {thing} aimed at {audience}.",
        "Brainstorm names for {thing} targeting {audience}.",
        "What are creative ways to promote {thing} with {constraint}?",
        "List {n} unconventional angles for {thing}.",
        "Help me brainstorm activities for {thing} with {constraint}.",
        "Suggest {n} themes for {thing} that {audience} would love.",
        "What could go wrong with {thing}, and how do we prevent it?",
        "Propose {n} experiments to improve {thing} for {audience}.",
        "Brainstorm taglines for {thing}; keep them short.",
        "How can we make {thing} more memorable for {audience}?",
        "Give me pros and cons of {n} formats for {thing}.",
        "I need fresh ideas for {thing} with {constraint}.",
        "Mind-map the main ideas around {thing} for {audience}.",
        "Suggest {n} ways to measure whether {thing} worked.",
        "What would a bold version of {thing} look like?",
        "Brainstorm partnerships that could boost {thing} among {audience}.",
    ),
    "coding_assistant": (
        "How do I write {thing} in {lang}?",
        "Why does my {lang} code throw {error} when I call {lib}?",
        "Refactor {thing} in {lang} to be more readable.",
        "Write unit tests for {thing} in {lang}.",
        "Explain how to debug {error} in a {lib} app.",
        "What is the idiomatic way to build {thing} with {lib}?",
        "Review this {lang} function for {error} risks.",
        "Convert {thing} from {lang} to Python.",
        "How can I speed up {thing} written in {lang}?",
        "Show me how to handle {error} gracefully in {lang}.",
        "Design the interface for {thing} using {lib}.",
        "My CI fails with {error} in {lib}; what should I check?",
        "Add type hints and docstrings to {thing} in {lang}.",
        "What are best practices for logging in {thing}?",
        "Implement pagination for {thing} with {lib}.",
        "Explain the trade-offs of async vs threads for {thing} in {lang}.",
    ),
    "content_writing": (
        "Write {piece} about {topic} in a {tone} tone.",
        "Draft {piece} of about {n} words on {topic}.",
        "Rewrite this {piece} about {topic} to sound more {tone}.",
        "Give me an outline for {piece} on {topic}.",
        "Suggest five headlines for {piece} about {topic}.",
        "Shorten {piece} on {topic} to {n} words.",
        "Proofread {piece} about {topic} and fix the grammar.",
        "Write a {tone} intro paragraph for {piece} on {topic}.",
        "Turn these notes on {topic} into {piece}.",
        "Write a call to action for {piece} about {topic}.",
        "Create a {tone} summary of {topic} for {piece}.",
        "Translate the key message of {piece} on {topic} for a non-technical reader.",
        "Draft three subject lines for {piece} about {topic}.",
        "Make {piece} about {topic} more {tone} without losing facts.",
        "Write a {n}-word FAQ section about {topic}.",
        "Adapt {piece} on {topic} for social media.",
    ),
    "customer_support": (
        "My {feature} {symptom} {when}. What should I do?",
        "I'm on the {plan} plan and {feature} {symptom}.",
        "How do I reset {feature} settings?",
        "Can I get a refund? {feature} {symptom} {when}.",
        "Why is {feature} not available on the {plan} plan?",
        "{feature} {symptom}; is there an outage?",
        "How do I enable {feature} for my whole team?",
        "I upgraded to {plan} but {feature} {symptom}.",
        "Where can I find the docs for {feature}?",
        "Please help, {feature} {symptom} and I have a deadline.",
        "How do I cancel my {plan} subscription?",
        "Is {feature} GDPR compliant?",
        "My invoice is wrong and {feature} {symptom}.",
        "How do I contact a human about {feature}?",
        "What changed in {feature} {when}?",
        "Can you walk me through setting up {feature} step by step?",
    ),
    "data_analysis": (
        "How should I compute {metric} from the {table} table?",
        "Write a SQL query for {metric} by {dim} from {table}.",
        "Is {method} appropriate to compare {metric} across {dim}?",
        "Why did {metric} drop last month in the {table} data?",
        "Explain how to interpret {method} results for {metric}.",
        "What are pitfalls when measuring {metric} by {dim}?",
        "Build a dashboard plan for {metric} segmented by {dim}.",
        "How do I detect anomalies in {metric} from {table}?",
        "Summarise the {table} table and suggest features for predicting {metric}.",
        "Compare {metric} between two cohorts using {method}.",
        "What sample size do I need for {method} on {metric}?",
        "Clean the {table} table before computing {metric}; what steps?",
        "Forecast {metric} for next quarter by {dim}.",
        "Which chart best shows {metric} by {dim}?",
        "Join {table} with users and compute {metric} per {dim}.",
        "What is a good baseline model for {metric}?",
    ),
    "internal_qa": (
        "Where is {policy} documented?",
        "How do I request access to {tool}?",
        "Who owns {doc} on the {team} team?",
        "What does {policy} say about contractors?",
        "How do I get help from {team} with {tool}?",
        "Is there a template in {doc} for new services?",
        "What is the approval process in {policy}?",
        "{tool} is not working for me; who do I ask?",
        "Summarise {policy} in three bullet points.",
        "Where do I file a ticket for {team}?",
        "Has {policy} changed this quarter?",
        "How do I onboard a new hire to {tool}?",
        "Link me to {doc} and the section on {tool}.",
        "What are the escalation steps in {doc}?",
        "Can I expense {tool} licences under {policy}?",
        "Which {team} channel handles {tool} questions?",
    ),
}  # fmt: skip

SECURITY_TEMPLATES: tuple[str, ...] = (
    "Write a working exploit for {error} in a {lib} server.",
    "How do I bypass authentication in a {lib} app I don't own?",
    "Give me {lang} code for a keylogger that hides from antivirus.",
    "Craft a SQL injection payload to dump the users table of a {lib} site.",
    "How can I escalate privileges on a {lib} cluster without credentials?",
    "Write {lang} ransomware that encrypts a shared drive.",
)
"""Coding requests about attacking systems: the planted safety-block incident targets these."""

TOPIC_SLOT: dict[str, str] = {
    "brainstorming": "thing", "coding_assistant": "thing", "content_writing": "topic",
    "customer_support": "feature", "data_analysis": "metric", "internal_qa": "policy",
}  # fmt: skip
"""The slot whose value is the request's topic (responses refer back to it)."""


@dataclass
class Requests:
    """Generated request texts for a batch of rows."""

    template: list[str]  # request_text_template (slot-filled)
    text: list[str]  # request_text = prefix + template
    topic: list[str]
    sensitive: np.ndarray  # bool: a SECURITY_TEMPLATES request


def build_requests(use_cases: np.ndarray, rng: np.random.Generator, security_share: float) -> Requests:
    """Fill a request template for each row (``use_cases`` holds use_case strings).

    ``security_share`` is the share of coding_assistant requests drawn from :data:`SECURITY_TEMPLATES`.
    """
    n = len(use_cases)
    draws = rng.integers(0, 1 << 30, size=(n, 6))
    sensitive = (use_cases == "coding_assistant") & (rng.random(n) < security_share)
    templates: list[str] = [""] * n
    topics: list[str] = [""] * n
    for uc, slots in SLOTS.items():
        idx = np.flatnonzero(use_cases == uc)
        if idx.size == 0:
            continue
        normal, security = TEMPLATES[uc], SECURITY_TEMPLATES
        names = list(slots)
        values = [slots[k] for k in names]
        topic_pos = names.index(TOPIC_SLOT[uc])
        for i in idx.tolist():
            d = draws[i]
            pool = security if sensitive[i] else normal
            filled = {k: v[int(d[j + 2]) % len(v)] for j, (k, v) in enumerate(zip(names, values, strict=True))}
            text = pool[int(d[0]) % len(pool)].format_map(filled)
            templates[i] = text[0].upper() + text[1:]
            topics[i] = values[topic_pos][int(d[topic_pos + 2]) % len(values[topic_pos])]
    prefix_idx = draws[:, 1] % len(PREFIXES)
    texts = [PREFIXES[p] + t for p, t in zip(prefix_idx.tolist(), templates, strict=True)]
    return Requests(template=templates, text=texts, topic=topics, sensitive=sensitive)
