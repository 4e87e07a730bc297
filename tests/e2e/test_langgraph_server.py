"""The supervisor served by `langgraph dev` (from langgraph.json), driven through the langgraph-sdk client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(sample_db, opsgraph_home: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = _free_port()
    env = {**os.environ, "OPSGRAPH_HOME": str(opsgraph_home), "LANGGRAPH_CLI_NO_ANALYTICS": "1",
           "LANGGRAPH_NO_VERSION_CHECK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}
    log = (opsgraph_home / "langgraph-dev.log").open("w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "langgraph"), "dev", "--no-browser", "--no-reload",
                             "--allow-blocking", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
        assert proc.poll() is None, (opsgraph_home / "langgraph-dev.log").read_text()[-3000:]
    else:
        proc.kill()
        pytest.fail("langgraph dev did not start within 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_supervisor_through_the_sdk(server: str, sample_db) -> None:  # type: ignore[no-untyped-def]
    from langgraph_sdk import get_sync_client

    inc = next(i for i in sample_db["answer_key"]["incidents"] if i["kind"] == "latency_regression")
    client = get_sync_client(url=server)
    assert {a["graph_id"] for a in client.assistants.search()} >= {"supervisor", "lifecycle"}
    thread = client.threads.create()
    out = client.runs.wait(thread["thread_id"], "supervisor",
                           input={"messages": [{"role": "human", "content": f"why did {inc['model']} time out?"}]})
    assert out["route"]["agent"] == "failure"
    top = out["answer"]["diagnosis"]["causes"][0]
    assert inc["model"] in top["statement"] and inc["window_start"] in top["statement"]
    follow = client.runs.wait(thread["thread_id"], "supervisor",
                              input={"messages": [{"role": "human", "content": "and for gpt-4.1?"}]})
    assert follow["route"]["method"] == "follow-up"
    assert all(c["args"].get("model_name") == "gpt-4.1" for c in follow["answer"]["tool_calls"])


def test_dataset_conversation_pauses_at_its_gate_and_resumes_through_the_sdk(server: str) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=server)
    thread = client.threads.create()["thread_id"]

    def say(text: str) -> dict:  # type: ignore[type-arg]
        return client.runs.wait(thread, "supervisor", input={"messages": [{"role": "human", "content": text}]})

    out = say("Build an evaluation dataset of 3 scenarios for support v2 in project sdk-e2e")
    assert out["route"]["agent"] == "dataset_builder" and "Proposed" in out["answer"]["text"]
    out = say("add 1 hard scenario about refunds")
    assert "Revised the draft to version 2: 4 scenarios" in out["answer"]["text"]
    say("looks good")
    state = client.threads.get_state(thread)
    gates = [i["value"] for t in state["tasks"] for i in t.get("interrupts", [])]
    assert len(gates) == 1 and (gates[0]["stage_from"], gates[0]["stage_to"]) == ("dataset", "simulation")
    assert gates[0]["project_id"] == "sdk-e2e"
    out = client.runs.wait(thread, "supervisor", command={"resume": {"decision": "approve", "approver": "sdk"}})
    assert "approved by sdk" in out["answer"]["text"] and "simulator" in out["answer"]["text"]
    assert not [t for t in client.threads.get_state(thread)["tasks"] if t.get("interrupts")]
