"""`opsgraph db ...`: start, stop and inspect the embedded Postgres."""

from __future__ import annotations

import typer

from cli.common import console, emit_json, fail
from core.bootstrap import open_database
from core.db import embedded_status, redact, stop_embedded
from core.migrate import reset_embeddings
from core.providers import embedder_spec
from core.settings import get_settings

db_app = typer.Typer(help="The database: embedded Postgres + pgvector (or DATABASE_URL).", no_args_is_help=True)


@db_app.command("start")
def start(as_json: bool = typer.Option(False, "--json")) -> None:
    """Start (or reuse) the database and apply pending migrations."""
    db = open_database()
    db.conn.close()
    out = {"url": redact(db.info.url), "server": db.info.kind, "pid": db.info.pid, "applied": db.applied}
    emit_json(out) if as_json else console.print(out)


@db_app.command("stop")
def stop(as_json: bool = typer.Option(False, "--json")) -> None:
    """Stop the embedded server (no effect with DATABASE_URL)."""
    if get_settings().database_url:
        fail("DATABASE_URL is set: opsgraph does not stop an external server", as_json=as_json)
    stopped = stop_embedded()
    emit_json({"stopped": stopped}) if as_json else console.print("stopped" if stopped else "not running")


@db_app.command("status")
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Show whether the embedded server runs, without starting it."""
    settings = get_settings()
    out = {"external_url": redact(settings.database_url)} if settings.database_url else embedded_status(settings)
    emit_json(out) if as_json else console.print(out)


@db_app.command("reset-embeddings")
def reset_embeddings_cmd(yes: bool = typer.Option(False, "--yes", help="Confirm dropping stored vectors.")) -> None:
    """Drop stored vectors and recreate the table for the configured embedder's dimension."""
    if not yes:
        fail("this drops every stored embedding; pass --yes to confirm, then re-run `opsgraph data ingest`")
    db = open_database(apply_migrations=False)
    with db.conn:
        spec = embedder_spec()
        reset_embeddings(db.conn, spec.dim)
    console.print(f"log_embeddings recreated as vector({spec.dim}) for {spec.name}; re-ingest to embed again")
