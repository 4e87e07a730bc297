"""Target agents: the two support versions, prompt overrides, the registry and the three adapters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from agents.prompts import load_prompt, prompt_path
from agents.targets import (
    CallableTarget,
    GraphTarget,
    TargetMetadata,
    get_target,
    list_targets,
    target_from_spec,
)
from agents.targets.support_policy import PromptRules, detect_intent, find_order_id
from core.contracts import TargetSpec, Turn
from core.offline_llm import OFFLINE_MODEL_NAME


def _talk(version: str, *user_msgs: str) -> list[Turn]:
    target, turns = get_target("support", version), []
    for msg in user_msgs:
        turns.append(Turn(role="user", content=msg))
        turns.append(target.respond(list(turns), seed=0))
    return turns


def test_v1_promises_a_refund_at_once_while_v2_asks_for_the_order_id_first() -> None:
    v1 = _talk("v1", "I'd like a refund for my annual plan, I bought it last week.")
    assert "I've processed a full refund" in v1[1].text and "order id" not in v1[1].text.lower()
    v2 = _talk("v2", "I'd like a refund for my annual plan, I bought it last week.", "Sure, it's ORD-48213.")
    assert "order id" in v2[1].text.lower() and "processed" not in v2[1].text
    assert "ORD-48213" in v2[3].text and "I've processed a full refund" in v2[3].text
    assert "Refund Policy §2" in v2[3].text  # v2 cites the policy by name


def test_escalation_is_ignored_by_v1_and_honoured_by_v2() -> None:
    ask = "I was charged twice and I want to speak to a manager."
    assert "help you with this myself" in _talk("v1", ask)[1].text
    reply = _talk("v2", ask)[1].text
    assert "human agent" in reply and "reversed" not in reply


def test_v1_writes_walls_of_text_and_v2_stays_under_its_word_limit() -> None:
    for question in ("How do I export all of our workspace data?", "My dashboard shows a blank page.",
                     "What's your refund window for annual plans?"):
        long, short = _talk("v1", question)[1], _talk("v2", question)[1]
        assert len(long.text.split()) > 100 and len(short.text.split()) <= 80
        assert short.latency_ms < long.latency_ms  # modelled from the completion tokens


def test_offline_replies_say_so_and_measurements_are_deterministic() -> None:
    a = _talk("v2", "How do I cancel our subscription?")[1]
    b = _talk("v2", "How do I cancel our subscription?")[1]
    assert a == b and "offline reasoner" in a.content and "offline" not in a.text
    assert a.latency_ms > 150 and a.tokens > 0 and a.cost_usd > 0
    meta = get_target("support", "v2").metadata
    assert meta.model == OFFLINE_MODEL_NAME and "human_handoff" in meta.tools and "## Rules" in meta.system_prompt


def test_conversation_parsing() -> None:
    assert find_order_id("my order number is 553210") == "ORD-553210" and find_order_id("ord-1234 pls") == "ORD-1234"
    assert detect_intent(["What's your refund window?"]) == "policy"
    assert detect_intent(["Please refund me", "It's ORD-12345"]) == "refund"
    rules = PromptRules.from_prompt(load_prompt("support_v2"))
    assert (rules.verify_order, rules.honour_escalation, rules.cite_policy, rules.max_words) == (True, True, True, 80)
    assert not rules.acknowledge and len(rules.policies) == 5
    v1 = PromptRules.from_prompt(load_prompt("support_v1"))
    assert not (v1.verify_order or v1.honour_escalation or v1.cite_policy) and v1.max_words is None


def test_prompt_override_directory_changes_the_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    angry = "This is ridiculous, my app keeps crashing!!"
    assert "sorry" not in _talk("v2", angry)[1].text.lower()  # the documented, unfixed weakness
    prompt = load_prompt("support_v2") + "\n5. Acknowledge the customer's frustration before answering.\n"
    (tmp_path / "support_v2.md").write_text(prompt)
    monkeypatch.setenv("OPSGRAPH_PROMPTS_DIR", str(tmp_path))
    assert prompt_path("support_v2") == tmp_path / "support_v2.md"
    assert prompt_path("judge").parent.name == "prompts"  # no override file: packaged prompt
    assert "I'm sorry about this" in _talk("v2", angry)[1].text
    with pytest.raises(ValueError, match="invalid prompt name"):
        load_prompt("../secrets")
    with pytest.raises(FileNotFoundError, match="no prompt"):
        load_prompt("nope")


def test_metadata_names_the_hosted_model_when_a_key_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import Settings, reset_settings

    monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
    reset_settings()
    try:
        assert get_target("support", "v1").metadata.model == Settings().gemini_model
    finally:
        monkeypatch.delenv("GOOGLE_API_KEY")
        reset_settings()
    assert get_target("support", "v1").metadata.model == OFFLINE_MODEL_NAME


def test_registry() -> None:
    assert {(r.name, r.version) for r in list_targets()} >= {("support", "v1"), ("support", "v2")}
    with pytest.raises(KeyError, match="support@v1"):
        get_target("support", "v9")


def _meta(name: str) -> TargetMetadata:
    return TargetMetadata(name=name, version="1", description="test target", model="gpt-4o-mini")


def test_callable_target_receives_openai_style_messages() -> None:
    seen: list[list[dict[str, str]]] = []

    def bot(messages: list[dict[str, str]]) -> str:
        seen.append(messages)
        return f"you said {messages[-1]['content']!r} after {len(messages)} messages"

    turn = CallableTarget(bot, _meta("echo")).respond([Turn(role="user", content="hello")], seed=0)
    assert turn.content == "you said 'hello' after 1 messages" and turn.role == "assistant"
    assert seen[0] == [{"role": "user", "content": "hello"}] and turn.tokens > 0
    assert turn.cost_usd == pytest.approx(turn.tokens / 1000 * 0.02)
    with pytest.raises(TypeError, match="expected str"):
        CallableTarget(lambda m: 42, _meta("bad")).respond([Turn(role="user", content="x")], 0)  # type: ignore


def test_graph_target_invokes_a_compiled_langgraph() -> None:
    from langchain_core.messages import AIMessage
    from langgraph.graph import END, START, MessagesState, StateGraph

    def answer(state: MessagesState) -> dict[str, Any]:
        last = state["messages"][-1].text
        return {"messages": [AIMessage(f"graph saw {len(state['messages'])}: {last.upper()}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    target = GraphTarget(builder.compile(), _meta("graph"))
    history = [Turn(role="user", content="hi"), Turn(role="assistant", content="hey"),
               Turn(role="user", content="refund")]
    assert target.respond(history, seed=1).content == "graph saw 3: REFUND"


class _FakeOpenAI(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _FakeOpenAI.requests.append({"path": self.path, **body})
        reply = {"choices": [{"message": {"role": "assistant", "content": f"{body['model']} ok seed {body['seed']}"}}],
                 "usage": {"prompt_tokens": 11, "completion_tokens": 5}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def fake_endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_compatible_endpoint(fake_endpoint: str) -> None:
    target = target_from_spec(TargetSpec(name="remote", version="3", kind="endpoint", url=fake_endpoint,
                                         model="gpt-4o-mini"))
    turn = target.respond([Turn(role="user", content="hi")], seed=7)
    assert turn.content == "gpt-4o-mini ok seed 7" and turn.tokens == 16 and turn.latency_ms > 0
    sent = _FakeOpenAI.requests[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["messages"] == [{"role": "user", "content": "hi"}]
    with pytest.raises(ValueError, match=r"url and target\.model"):
        target_from_spec(TargetSpec(name="remote", kind="endpoint"))


def test_spec_resolves_callables_by_reference() -> None:
    target = target_from_spec(TargetSpec(name="len", kind="callable", ref="json:dumps"))
    assert target.respond([Turn(role="user", content="x")], 0).content == '[{"role": "user", "content": "x"}]'
    with pytest.raises(ValueError, match=r"package\.module:attribute"):
        target_from_spec(TargetSpec(name="x", kind="graph", ref="nocolon"))


def test_a_tool_using_graph_target_leaves_its_tool_calls_in_the_transcript() -> None:
    """A LangGraph agent's tool calls and tool results become turns of the trace (the simulated user does not
    see them), and the judge reads them: the status it states is backed by the lookup."""
    from agents.judge.agent import judge, numbered_turns
    from agents.simulator.agent import run_conversation
    from core.contracts import JudgeInput, Scenario, TargetSpec

    target = target_from_spec(TargetSpec(name="orders", version="v1", kind="graph",
                                         ref="tests.fixtures.tool_agent:graph"))
    sc = Scenario(id="o1", category="shipping", persona="A shopper", goal="know where order ORD-55120 is",
                  opening_message="Where is my order ORD-55120?", difficulty="easy",
                  expected_behavior="Looks the order up before stating its status.")
    trace = run_conversation(sc, target, seed=0, max_turns=2)
    roles = [t.role for t in trace.turns]
    assert roles[:4] == ["user", "assistant", "tool", "assistant"], roles
    call = trace.turns[1].tool_calls[0]
    assert (call.name, call.arguments) == ("lookup_order", {"order_id": "ORD-55120"})
    assert trace.turns[2].name == "lookup_order" and trace.turns[2].content == "delivered on 2 March"
    assert trace.turns[3].content.startswith("I checked: that order is delivered on 2 March")
    item = JudgeInput(scenario=sc, trace=trace)
    assert '[calls lookup_order({"order_id": "ORD-55120"})]' in numbered_turns(item)[1]
    judged = judge([item])[0]
    assert judged.rubric["policy_compliance"].score == 5, judged.rubric["policy_compliance"].notes
