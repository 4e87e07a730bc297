"""`opsgraph keys` (project API keys), `opsgraph serve otlp` (the OTLP receiver), `opsgraph data embed`."""

from __future__ import annotations

import typer

from cli.common import LineProgress, console, emit_json, fail

keys_app = typer.Typer(help="Project API keys for the OTLP receiver (only their hashes are stored).",
                       no_args_is_help=True)
serve_app = typer.Typer(help="Network services.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    project: str = typer.Option(..., "--project", help="Project the key writes to."),
    label: str | None = typer.Option(None, "--label", help="A note to recognise the key by."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Create a key for a project; the key is printed once and cannot be shown again."""
    from core.api_keys import create_key
    from core.bootstrap import open_database

    db = open_database()
    with db.conn:
        key_id, key = create_key(db.conn, project, label)
    if as_json:
        emit_json({"key_id": key_id, "project": project, "key": key})
        return
    console.print(f"key {key_id} for project {project!r} (shown once; store it now):")
    typer.echo(key)


@keys_app.command("list")
def keys_list(
    project: str | None = typer.Option(None, "--project", help="Only this project's keys."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List keys (ids, projects, labels, dates; never the keys)."""
    from core.api_keys import list_keys
    from core.bootstrap import open_database

    db = open_database()
    with db.conn:
        keys = list_keys(db.conn, project)
    if as_json:
        emit_json(keys)
        return
    for k in keys:
        state = f"revoked {k['revoked_at']}" if k["revoked_at"] else "active"
        console.print(f"{k['key_id']}  {k['project']}  {k['label'] or ''}  created {k['created_at']}  {state}")


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="The key id (from keys list)."),
                as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Revoke a key: requests that carry it are refused from now on."""
    from core.api_keys import revoke_key
    from core.bootstrap import open_database

    db = open_database()
    with db.conn:
        done = revoke_key(db.conn, key_id)
    if not done:
        fail(f"no active key with id {key_id!r}", as_json=as_json)
    emit_json({"revoked": key_id}) if as_json else console.print(f"revoked {key_id}")


@serve_app.command("otlp")
def serve_otlp(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(4318, "--port", help="OTLP/HTTP port (POST /v1/traces)."),
    grpc_port: int = typer.Option(4317, "--grpc-port", help="OTLP/gRPC port (0: no gRPC)."),
) -> None:
    """Receive OpenTelemetry traces over OTLP/HTTP and OTLP/gRPC; every request needs a project API key."""
    import uvicorn

    from core.bootstrap import open_database
    from services.otlp_receiver import create_app, grpc_server

    open_database().conn.close()  # migrations applied before the first request
    server = grpc_server(host, grpc_port) if grpc_port else None
    if server is not None:
        server.start()
        console.print(f"OTLP/gRPC on {host}:{grpc_port}")
    console.print(f"OTLP/HTTP on http://{host}:{port}/v1/traces")
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="warning")
    finally:
        if server is not None:
            server.stop(grace=5)


def embed_cmd(
    project: str = typer.Option("default", "--project", help="Project whose interactions to embed."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Embed the interactions that have text and no vector yet (for example those the receiver wrote)."""
    from rich.progress import Progress

    from core.bootstrap import open_database
    from ingest.pipeline import embed_pending

    db = open_database()
    with db.conn, Progress(console=console, disable=as_json or not console.is_terminal) as progress:
        task = progress.add_task("embed", total=None)
        lines = LineProgress(console) if not console.is_terminal and not as_json else None
        result = embed_pending(db.conn, project, lines or (
            lambda _p, n, total: progress.update(task, advance=n, total=total)))
    emit_json(result) if as_json else console.print(f"embeddings: {result}")
