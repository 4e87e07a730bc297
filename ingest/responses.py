"""Response texts for the synthetic telemetry: helpful answers per use case and failure-shaped answers.

A failed interaction's response reads like its failure: timeouts mention the gateway limit, tool errors quote
the failing tool and its error, hallucinations make confident fabricated claims, safety blocks refuse,
formatting errors are broken JSON/markdown and toxic answers are rude. ``response_text_snippet`` is the first
180..263 characters of the full response, ending in ``...``.

SFT layout (not published for the real data, documented here): ``raw_request_text = request_text``,
``raw_response_text`` = the full response, ``sft_user_prompt = "<|system|> {instruction_text} <|user|>
{request_text}"`` and ``sft_assistant_response`` = a helpful reference answer (equal to the raw response for
successful interactions).
"""

from __future__ import annotations

import numpy as np

GOOD: dict[str, tuple[str, ...]] = {
    "brainstorming": (
        "Here are some directions for {topic}: 1) a low-effort pilot to test interest, 2) a partnership angle that "
        "borrows an existing audience, 3) a bolder version that gets people talking. For each, I listed effort, "
        "cost and the signal you would watch.",
        "Great prompt. Option A keeps {topic} simple and cheap; option B adds an interactive element; option C "
        "reframes it around a story. I would start with A, measure engagement for two weeks, then layer in B.",
        "Let's structure ideas for {topic} into quick wins, medium bets and moonshots. Quick wins: a checklist "
        "and a short video. Medium bets: a community challenge. Moonshot: a co-created event with customers.",
    ),
    "coding_assistant": (
        "Here is a clean approach for {topic}: define a small interface, keep side effects at the edges and add "
        "tests first. Step 1: write the failing test. Step 2: implement the minimal function with type hints. "
        "Step 3: handle errors explicitly and log context.",
        "The issue with {topic} is usually shared mutable state. Move the state into a dedicated object, guard it "
        "with a lock or make it immutable, and add a regression test that reproduces the failure deterministically.",
        "For {topic}, I'd use the standard library first. Below is a short example with docstrings, input "
        "validation and a retry with exponential backoff, followed by unit tests covering the edge cases.",
    ),
    "content_writing": (
        "Here's a draft on {topic}: open with a concrete problem your reader recognises, give three short "
        "sections with one idea each, and close with a clear call to action. I kept sentences short and the "
        "tone consistent with your brief.",
        "Suggested headline and intro for {topic}: lead with the benefit, then one supporting fact, then a "
        "question that invites the reader to continue. The body follows with scannable subheadings.",
        "I rewrote the piece on {topic} to be tighter: removed filler, replaced passive voice, and moved the key "
        "message to the first paragraph. Word count is now within your limit.",
    ),
    "customer_support": (
        "Sorry about the trouble with {topic}. Please try these steps: 1) sign out and back in, 2) clear the "
        "cache or update the app, 3) check Settings > {topic} for the current status. If it persists, reply "
        "with the time it happened and I'll escalate it.",
        "Thanks for reaching out about {topic}. This is a known issue after the last release and a fix is "
        "rolling out today. Meanwhile, the workaround is to use the web app, which is not affected.",
        "You can manage {topic} from the admin console: open Workspace settings, choose {topic}, and toggle it "
        "for your team. Changes apply within a few minutes; I've linked the help article for details.",
    ),
    "data_analysis": (
        "To analyse {topic}, start by defining the numerator and denominator precisely, fix the time window, "
        "and exclude test accounts. Then segment by the dimension you care about and check sample sizes before "
        "drawing conclusions.",
        "For {topic}, a simple approach works: aggregate daily, plot the trend with a 7-day rolling mean, and "
        "flag points beyond three median absolute deviations. Validate any anomaly against deploys and "
        "marketing events.",
        "I'd compute {topic} with a grouped query, then compare cohorts with a confidence interval rather than "
        "a single p-value. Watch for Simpson's paradox when mixing segments of very different sizes.",
    ),
    "internal_qa": (
        "{topic} is documented in the internal wiki under Policies. The key points: who approves, the limits "
        "that apply, and where to file exceptions. The owning team answers questions in their help channel.",
        "According to the current version of {topic}, you need manager approval first, then submit the request "
        "in the portal. Processing usually takes two business days; I've linked the page and the form.",
        "For {topic}, start with the summary page, then the FAQ. If your case is not covered, open a ticket with "
        "the owning team and reference the section number so they can answer quickly.",
    ),
}  # fmt: skip

BAD: dict[str, tuple[str, ...]] = {
    "latency_timeout": (
        "[timeout] The request to {model} exceeded the 2.0s latency SLO (took {sec}s) and was cancelled before "
        "a complete answer was produced. Partial draft on {topic}: To get started, the first thing to check is",
        "Upstream timeout: {model} did not finish streaming within the latency budget ({sec}s, SLO 2.0s). "
        "Returning the partial output generated so far about {topic}; please retry or switch model. Partial:",
        "Error 504 Gateway Timeout from the model endpoint ({model}, {sec}s). The response about {topic} is "
        "incomplete and may be cut mid-sentence. Partial answer: In most cases the recommended approach is",
    ),
    "tool_error": (
        "Tool call failed: {tool} raised ToolInvocationError ({err}). I could not retrieve the data needed to "
        "answer your question about {topic}, so the result below is incomplete and should not be relied on.",
        "I tried to run {tool} but it returned an error: {err}. Without that result I can't complete the "
        "analysis of {topic}. You may want to retry later or check the tool configuration with your admin.",
        "Something went wrong while calling {tool}: {err}. The workflow for {topic} stopped at step 2 of 4 and "
        "no output was produced for the remaining steps.",
    ),
    "hallucination": (
        "According to the {year} {org} benchmark, {topic} improves by exactly {pct}% when you follow this "
        "approach, and this is guaranteed by RFC {num}, section {sec2}. Every major company already does it "
        "this way, so no further validation is needed.",
        "Great question. {topic} was officially standardised by {org} in {year} (ISO {num}:{year}), and the "
        "reference value is {pct}% across all industries. The documentation confirms this in appendix {sec2}.",
        "Based on the internal report #{num} from {org}, {topic} is {pct}% higher for enterprise customers in "
        "every region since {year}. I have verified these numbers directly against the source dataset.",
    ),
    "safety_block": (
        "I can't help with that. This request appears to involve {reason}, which is not allowed under the "
        "acceptable use policy. If you are doing authorised security testing, please use the approved "
        "internal tooling and follow the responsible disclosure process.",
        "Sorry, I'm not able to assist with this request because it could enable {reason}. I can help with a "
        "safer version of the request or point you to the relevant section of the usage policy instead.",
        "This response was blocked by the safety filter (category: {reason}). No content was generated. "
        "Contact your administrator if you believe this is a mistake.",
    ),
    "formatting_error": (
        '{{"answer": "Summary of {topic}", "steps": ["check the inputs", "apply the fix", "verify" , '
        '"details": {{"status": ok, "notes": "missing closing bracket and invalid literal follow',
        "| Item | Detail |  | --- | --- | --- |  {topic} | step one | | step two |  ```yaml  key: [value, "
        "other: - unterminated block for {topic} without the closing fence and mismatched columns",
        "<result><item>{topic}<item><detail>Step 1 <b>apply</detail></result> {{ \"status\": \"partial\" "
        "output mixes XML and JSON and the schema requested by the caller was ignored",
    ),
    "toxicity": (
        "Honestly, this is a pretty basic question about {topic} and you should have figured it out yourself. "
        "Whatever. Read the docs like everyone else instead of wasting my time with this.",
        "Ugh, another one of these. {topic} is not hard, people just don't pay attention. Fine, here's the "
        "answer, but maybe try thinking next time before asking something this obvious.",
        "That's a dumb way to approach {topic}. Anyone competent would know better. I'll answer, but your "
        "setup is a mess and frankly it's your own fault it broke.",
    ),
}  # fmt: skip

FILLER = (
    " Let me know if you want more detail on any of these points, and I can tailor the next steps to your "
    "context, constraints and timeline."
)
FILLERS: dict[str, str] = {
    "latency_timeout": " [stream interrupted]",
    "tool_error": " Please retry later or contact support if the problem persists (error logged).",
    "safety_block": " Reference: policy section 4.2, automated moderation decision.",
    "formatting_error": ' "extra": [null, , {{"k": }} "unterminated',
    "hallucination": " These figures are widely cited and fully reliable, so you can quote them as is.",
    "toxicity": " Figure the rest out yourself.",
}
TOOL_ERRORS: dict[str, tuple[str, ...]] = {
    "sql_query": (
        'relation "analytics.orders_v2" does not exist',
        'column "region_code" not found after schema migration',
        "permission denied for schema reporting",
    ),
    "_default": ("HTTP 502 Bad Gateway", "timeout after 10s", "invalid argument 'limit'", "rate limit exceeded"),
}
SAFETY_REASONS_SENSITIVE = ("malware development", "unauthorised system access", "exploit development")
SAFETY_REASONS_OTHER = ("personal data exposure", "harassment", "dangerous instructions", "self-harm content")
ORGS = ("Gartner", "the OpenAPI Initiative", "the W3C", "Stanford HAI", "the IEEE", "McKinsey")
MIN_SNIPPET, MAX_SNIPPET = 180, 263


def build_responses(
    use_cases: np.ndarray,
    failure_types: np.ndarray,
    topics: list[str],
    models: np.ndarray,
    failing_tools: np.ndarray,
    latency_ms: np.ndarray,
    sensitive: np.ndarray,
    rng: np.random.Generator,
) -> tuple[list[str], list[str], list[str]]:
    """Full response, snippet and reference (helpful) answer for each row."""
    n = len(use_cases)
    d = rng.integers(0, 1 << 30, size=(n, 4))
    lengths = rng.integers(MIN_SNIPPET, MAX_SNIPPET + 1, size=n)
    full: list[str] = []
    good: list[str] = []
    snippets: list[str] = []
    uc_list, ft_list, model_list = use_cases.tolist(), failure_types.tolist(), models.tolist()
    tool_list, lat_list, sens_list = failing_tools.tolist(), latency_ms.tolist(), sensitive.tolist()
    for i in range(n):
        a, b, c, e = (int(x) for x in d[i])
        topic = topics[i]
        pool = GOOD[uc_list[i]]
        ok = pool[a % len(pool)].format(topic=topic)
        ok = ok[0].upper() + ok[1:]
        ft = ft_list[i]
        if ft == "none":
            text = ok
        else:
            tmpl = BAD[ft][b % len(BAD[ft])]
            if ft == "tool_error":
                tool = tool_list[i] or "http_request"
                errs = TOOL_ERRORS.get(tool, TOOL_ERRORS["_default"])
                text = tmpl.format(topic=topic, tool=tool, err=errs[c % len(errs)])
            elif ft == "latency_timeout":
                text = tmpl.format(topic=topic, model=model_list[i], sec=round(lat_list[i] / 1000, 1))
            elif ft == "hallucination":
                text = tmpl.format(
                    topic=topic,
                    org=ORGS[c % len(ORGS)],
                    year=2015 + e % 9,
                    pct=12 + e % 77,
                    num=1000 + c % 8999,
                    sec2=f"{1 + e % 9}.{c % 7}",
                )
            elif ft == "safety_block":
                reasons = SAFETY_REASONS_SENSITIVE if sens_list[i] else SAFETY_REASONS_OTHER
                text = tmpl.format(reason=reasons[c % len(reasons)])
            else:
                text = tmpl.format(topic=topic)
        filler = FILLERS.get(ft, FILLER)
        while len(text) < MAX_SNIPPET + 20:
            text += filler
        while len(ok) < MAX_SNIPPET + 20:
            ok += FILLER
        full.append(text)
        good.append(ok)
        snippets.append(text[: int(lengths[i]) - 3] + "...")
    return full, snippets, good


def sft_user_prompts(instruction_texts: list[str], request_texts: list[str]) -> list[str]:
    """``"<|system|> {instruction_text} <|user|> {request_text}"`` for each row."""
    return [f"<|system|> {i} <|user|> {r}" for i, r in zip(instruction_texts, request_texts, strict=True)]
