"""The committed telemetry migration is exactly what the schema generates."""

from __future__ import annotations

from pathlib import Path

from ingest.ddl import telemetry_sql
from ingest.schema import TABLES

SQL = Path(__file__).resolve().parents[2] / "sql" / "002_telemetry.sql"


def test_migration_matches_schema() -> None:
    assert SQL.read_text() == telemetry_sql(), "regenerate: python -m ingest.ddl > sql/002_telemetry.sql"


def test_every_column_and_key_is_declared() -> None:
    text = telemetry_sql()
    for spec in TABLES.values():
        block = text.split(f"CREATE TABLE IF NOT EXISTS {spec.name} (", 1)[1].split(");", 1)[0]
        assert [line.split('"')[1] for line in block.strip().splitlines() if line.strip().startswith('"')] == \
            spec.column_names
        assert f'PRIMARY KEY ("{spec.primary_key}")' in block
