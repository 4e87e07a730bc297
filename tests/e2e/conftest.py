"""End-to-end fixtures: the Chainlit chat served on a free local port over the session's data dir, and headless
Debian Chromium driven by selenium with every non-local request blocked.

Servers run ``chainlit run chainlit_app.py --headless`` in a subprocess without ``CI`` in the environment
(Chainlit's CI mode would set a fake OpenAI key), with ``OPSGRAPH_HOME`` pointing at the test session's data
directory (the ``sample_db`` fixture has loaded the 9,000-row sample with embeddings). Screenshots and server
logs go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
USERS = "alice:alice-pw:approver,bob:bob-pw:viewer"
CHROME_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    "--window-size=1400,1500",
    # the network is blocked: names do not resolve and everything except loopback goes to a dead proxy
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=http://127.0.0.1:9",
)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ChatServer:
    """A running ``chainlit run`` process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server log (for assertion messages)."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _wait_healthy(server: ChatServer, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"chainlit exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"chainlit did not answer on {server.url} within {timeout:.0f} s:\n{server.log_tail()}")


def app_root(name: str) -> Path:
    """A private working directory for one server: Chainlit keeps uploads in ``<cwd>/.files`` and deletes that
    directory when it stops, so servers sharing the repository root would break each other's uploads."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix=f"opsgraph-chat-{name}-"))
    for item in (".chainlit", "public", "chainlit.md"):
        (root / item).symlink_to(ROOT / item)
    return root


def start_server(name: str, home: Path, extra_env: dict[str, str]) -> ChatServer:
    """Start the chat on a free port (``env -u CI``) and wait until it answers."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    cwd = app_root(name)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update({"OPSGRAPH_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"})
    env.pop("OPSGRAPH_CHAT_USERS", None)
    env.update(extra_env)
    log = ARTIFACTS / f"chainlit-{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chainlit", "run", str(ROOT / "chainlit_app.py"), "--headless", "--host",
             "127.0.0.1", "--port", str(port)], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = ChatServer(f"http://127.0.0.1:{port}", process, log, cwd, extra_env)
    try:
        _wait_healthy(server)
    except Exception:
        stop_server(server)
        raise
    return server


def stop_server(server: ChatServer) -> None:
    """Stop the server process (SIGTERM, then SIGKILL after 15 s)."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)
    shutil.rmtree(server.cwd, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium() -> tuple[Path, Path]:
    """The Debian chromium and chromedriver binaries (the e2e tests are skipped without them)."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("Debian chromium is not installed (/usr/bin/chromium, /usr/bin/chromedriver): "
                    "apt-get install -y chromium chromium-driver")
    return CHROMIUM, CHROMEDRIVER


@pytest.fixture(scope="session")
def chat_server(chromium, opsgraph_home: Path, sample_db) -> Iterator[ChatServer]:  # type: ignore[no-untyped-def]
    """The chat without login (everyone is ``anonymous`` and may approve)."""
    server = start_server("open", opsgraph_home, {})
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def auth_server(chromium, opsgraph_home: Path, sample_db) -> Iterator[ChatServer]:  # type: ignore[no-untyped-def]
    """The chat with password login: alice is an approver, bob a viewer."""
    server = start_server("auth", opsgraph_home,
                          {"OPSGRAPH_CHAT_USERS": USERS, "CHAINLIT_AUTH_SECRET": secrets.token_urlsafe(48)})
    yield server
    stop_server(server)


@pytest.fixture()
def new_browser(chromium) -> Iterator[Callable[[], Any]]:  # type: ignore[no-untyped-def]
    """A factory of headless Chromium sessions (network blocked; performance log on); all quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    drivers: list[Any] = []
    profiles: list[Path] = []

    def make() -> Any:
        import tempfile

        opts = Options()
        opts.binary_location = str(chromium[0])
        for arg in CHROME_ARGS:
            opts.add_argument(arg)
        profile = Path(tempfile.mkdtemp(prefix="opsgraph-chromium-"))
        profiles.append(profile)
        opts.add_argument(f"--user-data-dir={profile}")
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        driver = webdriver.Chrome(service=Service(str(chromium[1])), options=opts)
        driver.set_page_load_timeout(60)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        with contextlib.suppress(Exception):  # a crashed browser must not hide the test result
            driver.quit()
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page requested since the last call (from Chromium's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(str(message["params"]["request"]["url"]))
    return urls
