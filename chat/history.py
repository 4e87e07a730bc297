"""Chat history (Chainlit's data layer) in the opsgraph Postgres, schema ``chainlit``, when login is on.

With history, a signed-in user sees past chats in the sidebar and reopening one triggers ``on_chat_resume``;
the conversation's LangGraph state is already in the checkpointer under an id derived from the chat id.
Without login there is no history (Chainlit lists threads per user), so no data layer is returned; this also
keeps Chainlit from adopting ``DATABASE_URL`` for its own tables. Elements (charts, files) are not stored:
there is no blob storage offline, so a resumed chat shows its messages and steps.
"""

from __future__ import annotations

import logging
from typing import Any

from core.users import auth_enabled

log = logging.getLogger(__name__)
SCHEMA = "chainlit"
DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.users (
    "id" UUID PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE, "metadata" JSONB NOT NULL, "createdAt" TEXT);
CREATE TABLE IF NOT EXISTS {SCHEMA}.threads (
    "id" UUID PRIMARY KEY, "createdAt" TEXT, "name" TEXT,
    "userId" UUID REFERENCES {SCHEMA}.users ("id") ON DELETE CASCADE,
    "userIdentifier" TEXT, "tags" TEXT[], "metadata" JSONB);
CREATE TABLE IF NOT EXISTS {SCHEMA}.steps (
    "id" UUID PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL,
    "threadId" UUID NOT NULL REFERENCES {SCHEMA}.threads ("id") ON DELETE CASCADE,
    "parentId" UUID, "streaming" BOOLEAN NOT NULL, "waitForAnswer" BOOLEAN, "isError" BOOLEAN, "metadata" JSONB,
    "tags" TEXT[], "input" TEXT, "output" TEXT, "createdAt" TEXT, "command" TEXT, "start" TEXT, "end" TEXT,
    "generation" JSONB, "showInput" TEXT, "language" TEXT, "indent" INT, "defaultOpen" BOOLEAN,
    "autoCollapse" BOOLEAN, "icon" TEXT, "modes" JSONB);
CREATE TABLE IF NOT EXISTS {SCHEMA}.elements (
    "id" UUID PRIMARY KEY, "threadId" UUID REFERENCES {SCHEMA}.threads ("id") ON DELETE CASCADE,
    "type" TEXT, "url" TEXT, "chainlitKey" TEXT, "name" TEXT NOT NULL, "display" TEXT, "objectKey" TEXT,
    "size" TEXT, "page" INT, "language" TEXT, "forId" UUID, "mime" TEXT, "props" JSONB, "autoPlay" BOOLEAN,
    "playerConfig" JSONB);
CREATE TABLE IF NOT EXISTS {SCHEMA}.feedbacks (
    "id" UUID PRIMARY KEY, "forId" UUID NOT NULL,
    "threadId" UUID NOT NULL REFERENCES {SCHEMA}.threads ("id") ON DELETE CASCADE,
    "value" INT NOT NULL, "comment" TEXT);
"""


def asyncpg_url(url: str) -> str:
    """The SQLAlchemy asyncpg form of a ``postgresql://`` URL (a Unix socket stays in ``?host=``)."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgres"):
        raise ValueError("expected a postgresql:// URL")
    return "postgresql+asyncpg://" + rest


def ensure_schema() -> str:
    """Create the history tables if needed; returns the database URL."""
    from core.bootstrap import open_database

    db = open_database()
    try:
        for statement in (s.strip() for s in DDL.split(";")):
            if statement:
                db.conn.execute(statement)  # type: ignore[call-overload]
    finally:
        db.conn.close()
    return db.info.url


def make_data_layer() -> Any:
    """Chainlit's SQLAlchemy data layer on the ``chainlit`` schema, or None when login is off."""
    if not auth_enabled():
        return None
    from chainlit.data.sql_alchemy import SQLAlchemyDataLayer

    url = ensure_schema()
    return SQLAlchemyDataLayer(conninfo=asyncpg_url(url), connect_args={"server_settings": {"search_path": SCHEMA}})
