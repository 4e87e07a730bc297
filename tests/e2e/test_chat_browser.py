"""The Chainlit chat in headless Chromium, with the network blocked: the page loads from the local server only,
a failure question gets a structured diagnosis citing real interactions, the dashboard draws its charts, an
uploaded CSV is ingested with its rejects reported, and a lifecycle gate is approved from its card by an
approver while a viewer is refused (the gate stays paused). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, ChatServer, requested_urls

pytestmark = pytest.mark.e2e

ANSWER_TIMEOUT = 300  # the first question also loads the embedder and the telemetry frame


class Chat:
    """A browser tab on the chat, with the few moves the tests need."""

    def __init__(self, driver: Any, server: ChatServer) -> None:
        self.d, self.server = driver, server

    def wait(self, predicate: Callable[[Any], Any], timeout: float = 60, what: str = "") -> Any:
        """Wait for ``predicate(driver)``; on timeout fail with the page text and the server log."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.3).until(predicate)
        except TimeoutException:
            self.screenshot(f"failed-{re.sub(r'[^a-z0-9]+', '-', what.lower()).strip('-')[:40] or 'wait'}")
            console = "\n".join(str(e.get("message")) for e in self.d.get_log("browser") if e.get("level") == "SEVERE")
            pytest.fail(f"timed out after {timeout} s waiting for {what}\n--- page ---\n{self.text()[-3000:]}"
                        f"\n--- browser errors ---\n{console}\n--- server log ---\n{self.server.log_tail()}")

    def text(self) -> str:
        """The visible text of the page."""
        from selenium.webdriver.common.by import By

        try:
            return str(self.d.find_element(By.TAG_NAME, "body").text)
        except Exception:
            return ""

    def wait_text(self, needle: str, timeout: float = 60) -> None:
        """Wait until ``needle`` is visible on the page."""
        self.wait(lambda d: needle in self.text(), timeout, repr(needle))

    def open(self, ready: bool = True) -> None:
        """Load the chat (or the login page with ``ready=False``)."""
        self.d.get(self.server.url + "/")
        if ready:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait for the websocket session: the command menu appears once ``on_chat_start`` has run."""
        from selenium.webdriver.common.by import By

        self.wait(lambda d: d.find_elements(By.ID, "command-button"), 60, "the chat session")

    def login(self, user: str, password: str) -> None:
        """Sign in on the login form."""
        from selenium.webdriver.common.by import By

        self.open(ready=False)
        self.wait(lambda d: d.find_elements(By.ID, "email"), 60, "the login form")
        self.d.find_element(By.ID, "email").send_keys(user)
        self.d.find_element(By.ID, "password").send_keys(password)
        self.d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait_ready()

    def send(self, message: str) -> None:
        """Type a message and send it (a bare ``/command`` would only pick the command from the menu: add text
        after it, as the tests do, or use a starter)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        box = self.wait(lambda d: d.find_element(By.ID, "chat-input"), 60, "the message box")
        box.send_keys(message)
        box.send_keys(Keys.ENTER)

    def button_in_card(self, marker: str, label: str) -> Any:
        """The ``label`` button of the message that shows ``marker`` (e.g. a lifecycle thread id)."""
        from selenium.webdriver.common.by import By

        xpath = (f"(//*[contains(text(), '{marker}')]/ancestor::div[.//button[normalize-space()='{label}']][1]"
                 f"//button[normalize-space()='{label}'])[last()]")
        return self.wait(lambda d: d.find_element(By.XPATH, xpath), 30, f"the {label} button of {marker}")

    def click(self, element: Any) -> None:
        """Click ``element`` after scrolling it to the middle of the view (the scroll-down overlay may cover it)."""
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)

    def scroll_to(self, text: str) -> None:
        """Bring the last element that contains ``text`` to the top of the view."""
        from selenium.webdriver.common.by import By

        found = self.d.find_elements(By.XPATH, f"//*[contains(text(), '{text}')]")
        if found:
            self.d.execute_script("arguments[0].scrollIntoView({block: 'start'});", found[-1])
            time.sleep(0.5)

    def screenshot(self, name: str) -> Path:
        """Save a PNG under test-artifacts/."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.d.save_screenshot(str(path))
        return path


def _outside(server: ChatServer, urls: list[str]) -> list[str]:
    """Network requests (http/ws) that went anywhere but the chat server."""
    hostport = server.url.split("://", 1)[1]
    network = [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws", "wss")]
    return [u for u in network if not u.startswith((f"http://{hostport}/", f"ws://{hostport}/"))]


def test_page_loads_offline_with_starters(chat_server: ChatServer, new_browser: Callable[[], Any]) -> None:
    from selenium.webdriver.common.by import By

    chat = Chat(new_browser(), chat_server)
    requested_urls(chat.d)  # drop the browser's own start-up entries
    chat.open(ready=False)
    chat.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#starters button")) == 4, 60, "the four starters")
    for label in ("Why are requests failing?", "Latency per model", "Dashboard", "Start an evaluation lifecycle"):
        chat.wait_text(label, 30)
    chat.wait_ready()
    time.sleep(2)  # let late requests (fonts, lazy chunks) show up
    urls = requested_urls(chat.d)
    assert any(u.startswith(chat_server.url) for u in urls)
    outside = _outside(chat_server, urls)
    assert not outside, f"the page requested non-local URLs: {outside}"
    assert "fonts.googleapis" not in chat.d.page_source and "cdn.jsdelivr" not in chat.d.page_source
    import httpx

    for path in ("/logo?theme=light", "/logo?theme=dark", "/favicon"):  # opsgraph's own, not Chainlit's
        assert 'aria-label="opsgraph"' in httpx.get(chat_server.url + path, timeout=10).text, path
    chat.screenshot("chat-home")


def test_failure_question_gets_structured_diagnosis(chat_server: ChatServer, new_browser: Callable[[], Any],
                                                    database: Any) -> None:
    from selenium.webdriver.common.by import By

    chat = Chat(new_browser(), chat_server)
    chat.open()
    chat.wait(lambda d: d.find_elements(By.ID, "starter-why-are-requests-failing?"), 60, "the starters")
    chat.d.find_element(By.ID, "starter-why-are-requests-failing?").click()
    chat.wait_text("Verification", ANSWER_TIMEOUT)
    text = chat.text()
    for section in ("Summary", "Causes", "Fix", "Verification", "Answered by the failure agent"):
        assert section in text, section
    assert chat.d.find_elements(By.ID, "step-supervisor"), "the supervisor's run is shown as a step"
    cited = re.findall(r"\bINT\d{6,}\b", text)
    assert len(cited) >= 3, "causes cite interaction ids"
    rows = database.conn.execute("SELECT count(*) AS n FROM interactions WHERE interaction_id = ANY(%s)",
                                 (sorted(set(cited)),)).fetchone()
    assert rows["n"] == len(set(cited)), "every cited id is a real interaction"
    chat.scroll_to("Answered by the")
    chat.screenshot("chat-diagnosis")


def test_dashboard_draws_charts(chat_server: ChatServer, new_browser: Callable[[], Any]) -> None:
    from selenium.webdriver.common.by import By

    chat = Chat(new_browser(), chat_server)
    chat.open()
    chat.wait(lambda d: d.find_elements(By.ID, "starter-dashboard"), 60, "the starters")
    chat.d.find_element(By.ID, "starter-dashboard").click()  # the starter sends "/dashboard"
    chat.wait_text("Top clusters", ANSWER_TIMEOUT)
    chat.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 4, 60, "four plotly charts")
    assert "interactions, failure rate" in chat.text()
    chat.scroll_to("Dashboard")
    chat.screenshot("chat-dashboard")


def test_uploaded_csv_is_ingested_with_rejects(chat_server: ChatServer, new_browser: Callable[[], Any],
                                              sample_db: dict[str, Any], tmp_path: Path) -> None:
    import csv

    from selenium.webdriver.common.by import By

    source = Path(str(sample_db["dir"])) / "llm_system_prompts_lookup.csv"
    with source.open(newline="") as f:
        rows = list(csv.DictReader(f))[:4]
    bad = {**rows[0], "share_within_template": "7.5"}  # outside [0, 1]
    upload = tmp_path / "llm_system_prompts_lookup.csv"
    with upload.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, bad])

    chat = Chat(new_browser(), chat_server)
    chat.open()  # uploads need the websocket session (open waits for it)
    file_input = chat.wait(lambda d: d.find_element(By.CSS_SELECTOR, "input[type=file]"), 60, "the file input")
    file_input.send_keys(str(upload))
    chat.wait(lambda d: d.find_elements(By.XPATH, "//*[contains(text(), 'llm_system_promp')]"), 30, "the attachment")
    submit = chat.d.find_element(By.ID, "chat-submit")
    chat.wait(lambda d: submit.is_enabled(), 30, "the send button (upload finished)")
    submit.click()
    chat.wait_text("1 row rejected", ANSWER_TIMEOUT)
    text = chat.text()
    assert "Ingestion" in text and "share_within_template" in text
    assert "ingest ›" in text, "each ingestion phase is a step of the chat"
    chat.scroll_to("Ingestion")
    chat.screenshot("chat-upload")


def _lifecycle_pending(thread_id: str) -> dict[str, Any] | None:
    from graphs.runner import lifecycle_graph, pending

    with lifecycle_graph() as graph:
        return pending(graph, thread_id)


def test_gate_approved_from_card_and_refused_for_viewer(auth_server: ChatServer,
                                                        new_browser: Callable[[], Any]) -> None:
    from graphs.audit import audit_trail

    alice = Chat(new_browser(), auth_server)
    alice.login("alice", "alice-pw")
    alice.send("/lifecycle project=e2e-chat scenarios=6 seeds=0 turns=4")
    alice.wait_text("Approval needed: dataset → simulation", ANSWER_TIMEOUT)
    thread_id = re.search(r"lifecycle thread (lc-\S+)", alice.text()).group(1)  # type: ignore[union-attr]
    text = alice.text()
    for item in ("quality_score", "scenarios", "mlflow run dataset", "Approve", "Reject", "Revise"):
        assert item in text, item
    alice.scroll_to("Approval needed: dataset")
    alice.screenshot("chat-approval-card")

    alice.button_in_card(thread_id, "Approve").click()
    alice.wait_text("Approval needed: simulation → judging", ANSWER_TIMEOUT)
    assert "Approved by alice" in alice.text()
    alice.scroll_to("Approval needed: simulation")
    alice.screenshot("chat-next-stage")
    decisions = audit_trail(thread_id=thread_id)
    assert [(r["stage_from"], r["decision"], r["approver"]) for r in decisions] == [
        ("dataset", "approve", "alice")]

    bob = Chat(new_browser(), auth_server)
    bob.login("bob", "bob-pw")
    bob.send(f"/approvals {thread_id}")
    bob.wait_text("Approval needed: simulation → judging", 120)
    bob.button_in_card(thread_id, "Approve").click()
    bob.wait_text("you need the approver role to approve this gate", 60)
    bob.scroll_to("Approval needed: simulation")
    bob.screenshot("chat-viewer-denied")

    still = _lifecycle_pending(thread_id)
    assert still is not None and still["stage_from"] == "simulation" and still["gate_seq"] == 1
    assert len(audit_trail(thread_id=thread_id)) == 1, "the viewer's click decided nothing"

    # the approver asks for a revision: the comment is asked for, the stage re-runs, a new card follows
    alice.button_in_card(thread_id, "Revise").click()
    alice.wait_text("What should this stage change?", 60)
    alice.send("use two more seeds next time")
    alice.wait_text("gate #2", ANSWER_TIMEOUT)
    assert "Sent back for revision by alice: use two more seeds next time" in alice.text()
    last = audit_trail(thread_id=thread_id)[-1]
    assert (last["stage_from"], last["decision"], last["approver"], last["comment"]) == (
        "simulation", "revise", "alice", "use two more seeds next time")


def test_reopened_chat_continues_its_thread(auth_server: ChatServer, new_browser: Callable[[], Any]) -> None:
    from selenium.webdriver.common.by import By

    alice = Chat(new_browser(), auth_server)
    alice.login("alice", "alice-pw")
    alice.send("What is the p95 latency per model?")
    alice.wait_text("Answered by the performance agent", ANSWER_TIMEOUT)
    alice.open()  # a new chat; the previous one is in the history sidebar
    alice.wait(lambda d: d.find_elements(By.ID, "starters"), 60, "a new chat")
    link = alice.wait(lambda d: d.find_element(By.XPATH, "//a[contains(., 'What is the p95 latency per model?')]"),
                      60, "the previous chat in the sidebar")
    link.click()
    alice.wait_text("Welcome back", 60)
    alice.send("and for gpt-4.1?")
    alice.wait_text("performance agent (follow-up", ANSWER_TIMEOUT)
    assert alice.text().count("Answered by the performance agent") == 2
    alice.scroll_to("Welcome back")
    alice.screenshot("chat-resumed")


def test_one_thread_from_clusters_to_feedback(auth_server: ChatServer, new_browser: Callable[[], Any],
                                              database: Any) -> None:
    """One chat thread: why requests fail, the top failure clusters with their map, a dataset from the top cluster
    edited over three turns and approved at its gate (a viewer is refused), simulation, judging, two analyst
    follow-ups, the comparison, the gated rollout to champion, then production feedback. Every gate is a button in
    this thread."""
    from selenium.webdriver.common.by import By

    alice = Chat(new_browser(), auth_server)
    alice.login("alice", "alice-pw")
    alice.send("Why are requests failing?")
    alice.wait_text("Verification", ANSWER_TIMEOUT)
    alice.send("What are the top failure clusters?")
    alice.wait(lambda d: alice.text().count("Answered by the failure agent") == 2, ANSWER_TIMEOUT, "the clusters")
    top_cluster, run_id = re.search(r"Cluster (\d+) of run (\S+) ", alice.text()).groups()  # type: ignore[union-attr]
    assert database.conn.execute("SELECT 1 FROM analytics_runs WHERE run_id = %s", (run_id,)).fetchone()
    alice.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot"), 60, "the interaction map")
    alice.scroll_to("Answered by the failure agent")
    alice.screenshot("conversation-clusters")

    alice.send("Build an evaluation dataset of 4 scenarios for support v2 from the top failure cluster")
    alice.wait_text(f"failure cluster {top_cluster} of run {run_id}", ANSWER_TIMEOUT)
    alice.send("add 2 hard scenarios about refunds")
    alice.wait_text("Revised the draft to version 2: 6 scenarios", ANSWER_TIMEOUT)
    alice.send("more angry personas")
    alice.wait_text("Revised the draft to version 3", ANSWER_TIMEOUT)
    alice.send("looks good")
    alice.wait_text("Approval needed: dataset → simulation", ANSWER_TIMEOUT)
    thread_id = re.search(r"conversation thread (chat-\S+)", alice.text()).group(1)  # type: ignore[union-attr]
    alice.scroll_to("Approval needed: dataset")
    alice.screenshot("conversation-dataset-gate")
    alice.send("What is the p95 latency per model?")  # the gate is decided first, it is not abandoned
    alice.wait_text("This conversation waits for a decision at the dataset → simulation gate", ANSWER_TIMEOUT)

    bob = Chat(new_browser(), auth_server)
    bob.login("bob", "bob-pw")
    bob.send(f"/approvals {thread_id}")
    bob.wait_text("Approval needed: dataset → simulation", 120)
    bob.click(bob.button_in_card(thread_id, "Approve"))
    bob.wait_text("you need the approver role to approve this gate", 60)

    def approve(gate: str, then: str) -> None:
        alice.wait_text(f"Approval needed: {gate}", ANSWER_TIMEOUT)
        alice.click(alice.button_in_card(thread_id, "Approve"))
        alice.wait_text(then, ANSWER_TIMEOUT)

    approve("dataset → simulation", "Next: the simulator agent")
    alice.send("simulate support v2 against support v1")
    alice.wait_text("Approval needed: simulation → judging", ANSWER_TIMEOUT)
    alice.scroll_to("Answered by the simulator agent")
    alice.screenshot("conversation-simulation")
    approve("simulation → judging", "Next: the judge agent")
    alice.send("/judge judge the last simulation")
    approve("judging → analytics", "Next: the analyst agent")
    alice.send("/analyze write the report")
    approve("analytics → comparison", "Next: the comparator agent")
    alice.send("/analyze which category is weakest?")
    alice.wait_text("The weakest category is", ANSWER_TIMEOUT)
    alice.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 2, 60, "the analyst's chart")
    alice.send("/analyze which persona is strongest?")
    alice.wait_text("The strongest persona is", ANSWER_TIMEOUT)
    alice.send("/compare compare v1 and v2")
    approve("comparison → deployment", "Approval needed: rollout 10% → rollout 50%")
    alice.scroll_to("Approval needed: comparison")
    alice.screenshot("conversation-deployment")
    approve("rollout 10% → rollout 50%", "Approval needed: rollout 50% → rollout 100%")
    approve("rollout 50% → rollout 100%", "Approval needed: rollout 100% → champion")
    approve("rollout 100% → champion", "Approval needed: deployment → production feedback")
    approve("deployment → production feedback", "is champion")
    alice.send("/feedback what do production users complain about?")
    alice.wait_text("Approval needed: production feedback → dataset", ANSWER_TIMEOUT)
    alice.scroll_to("Approval needed: production feedback")
    alice.screenshot("conversation-feedback-gate")
    (ARTIFACTS / "conversation-transcript.txt").write_text(alice.text(), encoding="utf-8")
    from graphs.audit import audit_trail

    decided = [(r["stage_from"], r["decision"], r["approver"]) for r in audit_trail(thread_id=thread_id)]
    assert decided == [(s, "approve", "alice") for s in ("dataset", "simulation", "judging", "analytics",
                                                           "comparison", "rollout 10%", "rollout 50%",
                                                           "rollout 100%", "deployment")]


def test_uncertain_traces_are_labelled_from_review_cards(auth_server: ChatServer,
                                                          new_browser: Callable[[], Any]) -> None:
    """/review posts the judge's uncertain traces with Pass / Fail buttons: a viewer's click is refused, an
    approver's label lands in the review queue the alignment reads."""
    import uuid

    from agents.judge.agent import judge
    from services.judge_reviews import enqueue_uncertain, labelled, pending
    from tests.fixtures.judge_items import uncertain_item

    project = f"e2e-review-{uuid.uuid4().hex[:6]}"
    item = uncertain_item("exp-e2e", "Use the menu.")
    judgments = judge([item])
    assert judgments[0].verdict == "uncertain"
    enqueue_uncertain(project, "run-e2e", [item], judgments)
    review_id = pending(project)[0]["review_id"]

    bob = Chat(new_browser(), auth_server)
    bob.login("bob", "bob-pw")
    bob.send(f"/review {project}")
    bob.wait_text(f"Review {review_id}", 120)
    bob.button_in_card(f"Review {review_id}", "Pass").click()
    bob.wait_text("the trace stays in the review queue", 60)
    assert not labelled(project)

    alice = Chat(new_browser(), auth_server)
    alice.login("alice", "alice-pw")
    alice.send(f"/review {project}")
    alice.wait_text(f"Review {review_id}", 120)
    assert "Use the menu." in alice.text() and "uncertain (confidence" in alice.text()
    alice.button_in_card(f"Review {review_id}", "Fail").click()
    alice.wait_text(f"Review {review_id} labelled fail by", 60)
    alice.screenshot("chat-review-card")
    rows = labelled(project)
    assert [(r["review_id"], r["label"], r["labelled_by"]) for r in rows] == [(review_id, False, "alice")]
