"""The OTLP/HTTP receiver served next to the chat (``/otlp/v1/traces``): refused without a key, stored with one."""

from __future__ import annotations

import httpx
import pytest

from core.api_keys import create_key
from core.bootstrap import open_database
from tests.fixtures.genai_spans import otlp_protobuf, spans

pytestmark = pytest.mark.e2e


def test_the_chat_server_receives_traces(chat_server) -> None:  # type: ignore[no-untyped-def]
    url = f"{chat_server.url}/otlp/v1/traces"
    items = [dict(s, span=f"e2e0{i:012x}") for i, s in enumerate(spans())]  # ids of its own
    body, headers = otlp_protobuf(items), {"content-type": "application/x-protobuf"}
    assert httpx.post(url, content=body, headers=headers).status_code == 401
    db = open_database()
    _, key = create_key(db.conn, "chat-otlp")
    try:
        r = httpx.post(url, content=body, headers={**headers, "x-api-key": key})
        assert r.status_code == 200, chat_server.log_tail()
        n = db.conn.execute("SELECT count(*) AS n FROM interactions WHERE project = 'chat-otlp'").fetchone()["n"]
        assert n == 4
    finally:  # the session's sample data stays as the other tests expect it
        for table in ("interactions", "sessions", "users", "quarantine", "telemetry_versions", "api_keys"):
            db.conn.execute(f"DELETE FROM {table} WHERE project = 'chat-otlp'")
