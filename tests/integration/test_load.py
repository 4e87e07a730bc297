"""The table loader on the real Postgres: a first load into an empty table goes straight in and keeps every index
and foreign key; a crash in the middle leaves the table as it was, constraints included."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.bootstrap import open_database
from core.settings import get_settings
from ingest.generator import generate
from ingest.load import TableLoader
from ingest.schema import TABLES
from ingest.validate import validate_table

pytestmark = pytest.mark.integration


def _constraints(conn, table: str) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    idx = {r["indexname"] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))}
    fks = {r["conname"] for r in conn.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'", (table,))}
    return idx, fks


def _frame(directory: Path, name: str) -> pd.DataFrame:
    return validate_table(name, directory / TABLES[name].file_name).data


def _load_parents(conn, directory: Path) -> None:  # type: ignore[no-untyped-def]
    """Load users, sessions and prompts of a generated set (the parents of interactions)."""
    for name in ("users", "sessions", "prompts"):
        with TableLoader(conn, TABLES[name]) as loader:
            loader.add(_frame(directory, name))
            loader.finish()


def test_direct_load_keeps_constraints_and_a_crash_changes_nothing(fresh_database: str, tmp_path: Path) -> None:
    generate(300, 3, tmp_path)
    db = open_database()
    conn = db.conn
    before = _constraints(conn, "interactions")
    assert len(before[0]) >= 5 and len(before[1]) == 3
    _load_parents(conn, tmp_path)
    rows = _frame(tmp_path, "interactions")
    with pytest.raises(RuntimeError, match="crash"), TableLoader(conn, TABLES["interactions"]) as loader:
        loader.add(rows)
        raise RuntimeError("crash in the middle of the load")
    assert conn.execute("SELECT count(*) AS n FROM interactions").fetchone()["n"] == 0
    assert _constraints(conn, "interactions") == before
    with TableLoader(conn, TABLES["interactions"]) as loader:
        loader.add(rows)
        counts = loader.finish()
    assert counts.inserted == len(rows) == conn.execute("SELECT count(*) AS n FROM interactions").fetchone()["n"]
    assert _constraints(conn, "interactions") == before
    # the rebuilt foreign key is enforced: a child row with an unknown session is refused
    bad = rows.head(1).assign(interaction_id="INT999999", session_id="S_missing")
    with pytest.raises(Exception, match="foreign key"), TableLoader(conn, TABLES["interactions"]) as loader:
        loader.add(bad)
        loader.finish()
    db.conn.close()


@pytest.mark.parametrize("server_file", [False, True])
def test_chunked_copy_and_export_round_trip(fresh_database: str, tmp_path: Path, server_file: bool) -> None:
    """Rows streamed in several chunks through one COPY come back from ``iter_table`` unchanged (streamed
    through this process or written by the server): nulls stay nulls, empty strings stay empty strings,
    booleans and UTC timestamps keep their values."""
    from ingest.export import iter_table

    generate(400, 5, tmp_path)
    db = open_database()
    conn = db.conn
    _load_parents(conn, tmp_path)
    rows = _frame(tmp_path, "interactions")
    rows.loc[0, "repair_strategy"] = ""  # an empty string, distinct from NULL
    with TableLoader(conn, TABLES["interactions"]) as loader:
        for start in range(0, len(rows), 90):
            loader.add(rows.iloc[start:start + 90])
        assert loader.finish().inserted == len(rows)
    back = pd.concat(list(iter_table(conn, TABLES["interactions"], "interaction_id", tmp_path, block_bytes=1 << 16,
                                           server_file=server_file)),
                     ignore_index=True)
    assert not [*tmp_path.glob("opsgraph-export-*"), *get_settings().pg_dir.glob("opsgraph-export-*")]
    want = rows.sort_values("interaction_id").reset_index(drop=True)
    empty = want.index[want["repair_strategy"] == ""]
    assert len(back) == len(want) and len(empty) == 1 and back.loc[empty, "repair_strategy"].eq("").all()
    assert back["user_feedback_score"].isna().sum() == want["user_feedback_score"].isna().sum() > 0
    pd.testing.assert_frame_equal(back, want, check_dtype=False, check_exact=False)
    db.conn.close()


def test_validator_checked_foreign_keys_stay_in_place_valid_and_enforced(fresh_database: str, tmp_path: Path) -> None:
    """A direct load that trusts the validator's referential checks keeps every foreign key, validated, and
    later writes are still checked (the replica role ends with the load's transaction)."""
    generate(200, 4, tmp_path)
    db = open_database()
    conn = db.conn
    _load_parents(conn, tmp_path)
    rows = _frame(tmp_path, "interactions")
    with TableLoader(conn, TABLES["interactions"], frozenset({"session_id", "user_id", "prompt_id"})) as loader:
        loader.add(rows)
        assert loader.finish().inserted == len(rows)
    assert conn.execute("SHOW session_replication_role").fetchone()["session_replication_role"] == "origin"
    valid = {r["conname"]: r["convalidated"] for r in conn.execute(
        "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'interactions'::regclass AND contype = 'f'")}
    assert len(valid) == 3 and all(valid.values()), valid
    bad = rows.head(1).assign(interaction_id="INT999998", session_id="S_missing")
    with pytest.raises(Exception, match="foreign key"), \
            TableLoader(conn, TABLES["interactions"], frozenset({"session_id"})) as loader:
        loader.add(bad)
        loader.finish()
    db.conn.close()
