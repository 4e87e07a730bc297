"""Loading validated frames into Postgres: COPY into a staging table, then one upsert per table (COPY straight
into a table that is empty when the load starts). One COPY stays open per table across chunks and is fed by a
worker thread, so the server loads one chunk while the caller validates the next.

Each table loads in its own transaction, so a crash leaves a table either as it was or fully loaded. Upserts are
by primary key and only touch rows whose values changed, so re-ingesting the same files changes nothing.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from psycopg._acompat import Queue  # the queue class psycopg's writer uses (interruptible get)
from psycopg.abc import Buffer
from psycopg.copy import QueuedLibpqWriter
from psycopg.rows import DictRow

from ingest.schema import TableSpec

COPY_CHUNK_ROWS = 100_000
DERIVED_SUMMARIES = ("sessions", "users")  # tables whose placeholder rows are marked summary_source = 'derived'
SLICE_BYTES = 1 << 20
QUEUE_SLICES = 64  # at most 64 MiB queued for the server


@dataclass
class UpsertCounts:
    """What one table load did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    other_project: int = 0  # keys that belong to another project: left as they are

    def add(self, other: UpsertCounts) -> None:
        """Accumulate counts of another chunk."""
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.other_project += other.other_project


class _QueuedWriter(QueuedLibpqWriter):
    """psycopg's queued COPY writer (a worker thread sends while the caller validates the next chunk) with a
    bounded queue of at most ``QUEUE_SLICES`` slices of ``SLICE_BYTES``, so memory stays bounded."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        super().__init__(cursor)
        self._queue: Queue[Buffer] = Queue(maxsize=QUEUE_SLICES)

    def write(self, data: Buffer) -> None:
        """Queue ``data`` in slices (blocks while the queue is full)."""
        view = memoryview(data)
        for start in range(0, len(view), SLICE_BYTES):
            super().write(view[start:start + SLICE_BYTES])


class _Copy:
    """One ``COPY ... FROM STDIN (FORMAT csv)`` kept open across chunks; frames are written as CSV by Arrow
    (strings quoted, so an empty string stays an empty string and only an unquoted empty field is NULL)."""

    def __init__(self, conn: psycopg.Connection[DictRow], table: sql.Identifier, cols: list[str],
                 freeze: bool = False) -> None:
        ident_cols = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
        stmt = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv{})").format(
            table, ident_cols, sql.SQL(", FREEZE" if freeze else ""))
        cur = conn.cursor()
        self.cols = cols
        self._cm = cur.copy(stmt, writer=_QueuedWriter(cur))
        self._copy = self._cm.__enter__()

    def write(self, rows: pa.Table) -> None:
        """Queue ``rows`` (its ``cols``)."""
        options = pacsv.WriteOptions(include_header=False)
        rows = rows.select(self.cols)
        for start in range(0, rows.num_rows, COPY_CHUNK_ROWS):
            buf = io.BytesIO()
            pacsv.write_csv(rows.slice(start, COPY_CHUNK_ROWS), buf, options)
            self._copy.write(buf.getbuffer())

    def close(self, exc: BaseException | None = None) -> None:
        """End the COPY: wait until the server has every row (or abort it when ``exc`` is given)."""
        self._cm.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)


def _drop_secondary(conn: psycopg.Connection[DictRow], table: str, keep_fks: frozenset[str]) -> list[str]:
    """Drop ``table``'s secondary indexes and its foreign keys except those on ``keep_fks`` columns (inside the
    load's transaction); returns the DDL that recreates them. A bulk load into an empty table then skips per-row
    index upkeep; readers of that table wait until the first load commits."""
    indexes = conn.execute(
        "SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS ddl FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
        "AND NOT x.indisunique", (table,)).fetchall()
    fks = [fk for fk in conn.execute(
        "SELECT conname AS name, pg_get_constraintdef(oid) AS ddl, (SELECT attname FROM pg_attribute "
        "WHERE attrelid = conrelid AND attnum = conkey[1]) AS col FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'", (table,)).fetchall() if fk["col"] not in keep_fks]
    target = sql.Identifier(table)
    for fk in fks:
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, sql.Identifier(fk["name"])))
    for ix in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(ix["name"])))
    return [ix["ddl"] for ix in indexes] + [
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(target, sql.Identifier(fk["name"])).as_string(conn)
        + fk["ddl"] for fk in fks]


def _skip_checked_fks(conn: psycopg.Connection[DictRow], checked: frozenset[str]) -> frozenset[str]:
    """Foreign keys whose every row the validator has checked are not checked again row by row: the load's
    transaction runs with ``session_replication_role = replica`` (no foreign-key triggers; superusers only, as
    on the embedded server). The constraints stay in place and valid, and no lock is taken on the parent
    tables, so readers of those go on during the load. Returns the columns skipped (none without the right)."""
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not checked or not (row and row["rolsuper"]):
        return frozenset()
    conn.execute("SET LOCAL session_replication_role = replica")
    return checked


def _fresh_storage(conn: psycopg.Connection[DictRow], table: str) -> bool:
    """Truncate the empty ``table`` (and the empty tables referencing it, which TRUNCATE requires) in the load's
    transaction: it then gets new storage, so with ``wal_level = minimal`` the COPY into it writes no WAL, and
    ``COPY FREEZE`` writes its rows frozen (the first reads then do not rewrite every page to set hint bits).
    False when a referencing table has rows (with a NULL reference): nothing is truncated then."""
    refs = [r["t"] for r in conn.execute(
        "WITH RECURSIVE r(t) AS (SELECT %s::regclass::oid UNION SELECT c.conrelid FROM pg_constraint c JOIN r "
        "ON c.confrelid = r.t WHERE c.contype = 'f') SELECT t::regclass::text AS t FROM r WHERE t <> %s::regclass",
        (table, table))]
    for ref in refs:
        if conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {}) AS x").format(sql.Identifier(ref))).fetchone()["x"]:  # type: ignore[index]
            return False
    conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in [table, *refs])))
    return True


class TableLoader:
    """Stream validated chunks of one table into a staging table, then upsert them all in one transaction.

    Use as a context manager: ``add`` each chunk, ``finish`` to upsert; leaving the block without ``finish`` (an
    exception) rolls everything back, so the target table is never half-written. ``checked_fks``: foreign-key
    columns whose every row the validator has checked against the parent's keys.
    """

    def __init__(self, conn: psycopg.Connection[DictRow], spec: TableSpec,
                 checked_fks: frozenset[str] = frozenset(), *, add_parents: bool = False,
                 count_other_projects: bool = True) -> None:
        self.conn, self.spec, self.checked, self.add_parents = conn, spec, checked_fks, add_parents
        self.count_other_projects = count_other_projects
        self.rows = 0
        self.counts = UpsertCounts()
        self._tx: Any = None
        self._direct = False
        self._freeze = False
        self._deferred: list[str] = []
        self._stage = sql.Identifier(f"stage_{spec.name}")
        self._copy: _Copy | None = None
        self._cols: list[str] = []
        self.placeholders: dict[str, int] = {}

    def __enter__(self) -> TableLoader:
        self._tx = self.conn.transaction()
        self._tx.__enter__()
        target = sql.Identifier(self.spec.name)
        # an empty table (the first load) takes the rows straight from COPY: no staging copy, no upsert. The lock
        # keeps it empty until we commit; the validator has already dropped duplicate keys within the file.
        self.conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(target))
        empty = self.conn.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {}) AS empty").format(target)).fetchone()
        self._direct = bool(empty and empty["empty"])
        if self._direct:
            keep = _skip_checked_fks(self.conn, self.checked)
            self._deferred = _drop_secondary(self.conn, self.spec.name, keep)
            self.conn.execute("SET LOCAL maintenance_work_mem = '1GB'")  # index builds sort in memory
            self._freeze = _fresh_storage(self.conn, self.spec.name)
        else:
            self.conn.execute(
                sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(self._stage, target)
            )
        return self

    def add(self, rows: pa.Table | pd.DataFrame) -> None:
        """COPY one chunk of good rows into the staging table (or the empty target). The first chunk's columns
        (any subset of the table's, for example with ``project`` and ``extra``) are those of every chunk."""
        if isinstance(rows, pd.DataFrame):
            rows = pa.Table.from_pandas(rows, preserve_index=False)
        if rows.num_rows == 0:
            return
        if self._copy is None:
            dest = sql.Identifier(self.spec.name) if self._direct else self._stage
            self._cols = list(rows.column_names)
            self._copy = _Copy(self.conn, dest, self._cols, freeze=self._freeze)
        elif rows.column_names != self._cols:
            raise ValueError(f"{self.spec.name}: a chunk has columns {rows.column_names}, the first had {self._cols}")
        self._copy.write(rows)
        self.rows += rows.num_rows

    def _end_copy(self, exc: BaseException | None = None) -> None:
        copy, self._copy = self._copy, None
        if copy is not None:
            copy.close(exc)

    def finish(self) -> UpsertCounts:
        """Upsert the staged rows into the table (only rows whose values changed are written). With
        ``add_parents``, a key referenced in a parent that no validated file provides gets a placeholder row there
        (its summary is derived later, :mod:`ingest.derive`); without, an unknown key fails the load."""
        self._end_copy()
        if self._cols and self.add_parents:
            self._add_placeholders()
        if self._direct:
            for ddl in self._deferred:  # indexes built and foreign keys validated once, in bulk
                self.conn.execute(ddl)  # type: ignore[arg-type]
            self.counts = UpsertCounts(inserted=self.rows)
            return self.counts
        cols = self._cols
        if not cols:
            return self.counts
        col_list = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
        non_key = [c for c in cols if c != self.spec.primary_key]
        sets = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in non_key)
        old = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in non_key)
        new = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in non_key)
        same = sql.SQL("t.project = EXCLUDED.project AND ") if "project" in cols else sql.SQL("")
        elsewhere = 0
        if "project" in cols and self.count_other_projects:  # such a key is never overwritten (see ``same``)
            hit = self.conn.execute(sql.SQL("SELECT count(*) AS n FROM {} s JOIN {} t USING ({}) WHERE t.project "
                                            "<> s.project").format(self._stage, sql.Identifier(self.spec.name),
                                                                    sql.Identifier(self.spec.primary_key))).fetchone()
            elsewhere = int(hit["n"]) if hit else 0
        row = self.conn.execute(
            sql.SQL(
                """WITH up AS (
                   INSERT INTO {target} AS t ({cols}) SELECT {cols} FROM {stage}
                   ON CONFLICT ({pk}) DO UPDATE SET {sets} WHERE {same}({old}) IS DISTINCT FROM ({new})
                   RETURNING (xmax = 0) AS inserted)
               SELECT count(*) FILTER (WHERE inserted) AS ins, count(*) FILTER (WHERE NOT inserted) AS upd FROM up"""
            ).format(
                target=sql.Identifier(self.spec.name),
                cols=col_list,
                stage=self._stage,
                pk=sql.Identifier(self.spec.primary_key),
                sets=sets,
                old=old,
                new=new,
                same=same,
            )
        ).fetchone()
        assert row is not None
        ins, upd = int(row["ins"]), int(row["upd"])
        self.counts = UpsertCounts(inserted=ins, updated=upd, unchanged=self.rows - ins - upd - elsewhere,
                                   other_project=elsewhere)
        return self.counts

    def _add_placeholders(self) -> None:
        source = sql.Identifier(self.spec.name) if self._direct else self._stage
        project = sql.SQL(", project") if "project" in self._cols else sql.SQL("")
        for fk in self.spec.foreign_keys:
            if fk.column in self.checked or fk.column not in self._cols:
                continue
            derived = sql.SQL(", summary_source") if fk.ref_table in DERIVED_SUMMARIES else sql.SQL("")
            value = sql.SQL(", 'derived'") if fk.ref_table in DERIVED_SUMMARIES else sql.SQL("")
            cur = self.conn.execute(sql.SQL(
                "INSERT INTO {parent} ({key}{project}{derived}) SELECT DISTINCT {col}{project}{value} FROM {source} "
                "WHERE {col} IS NOT NULL ON CONFLICT DO NOTHING").format(
                    parent=sql.Identifier(fk.ref_table), key=sql.Identifier(fk.ref_column), project=project,
                    derived=derived, value=value, col=sql.Identifier(fk.column), source=source))
            if cur.rowcount:
                self.placeholders[fk.ref_table] = cur.rowcount

    def __exit__(self, *exc: Any) -> None:
        try:
            self._end_copy(exc[1] or RuntimeError("load left without finish()"))
        finally:
            self._tx.__exit__(*exc)


def with_project(chunk: pa.Table, project: str) -> pa.Table:
    """``chunk`` with a ``project`` column holding ``project``."""
    return chunk.append_column("project", pa.array([project] * chunk.num_rows, pa.string()))


def upsert_frame(conn: psycopg.Connection[DictRow], spec: TableSpec, df: pa.Table | pd.DataFrame) -> UpsertCounts:
    """Upsert a whole frame (the table's columns, validated) in one transaction."""
    with TableLoader(conn, spec) as loader:
        loader.add(df)
        return loader.finish()


def write_quarantine(conn: psycopg.Connection[DictRow], ingest_id: str, table: str, rejects: pd.DataFrame,
                     project: str = "default") -> int:
    """Store rejected rows (file, row, column, reason, raw; ``record_id`` when the rejects name one, such as a
    span) for ``ingest_id``; returns how many."""
    if rejects.empty:
        return 0
    rows: list[tuple[Any, ...]] = [
        (
            ingest_id,
            table,
            str(r["file"]),
            int(r["row"]),
            None if pd.isna(r["column"]) else str(r["column"]),
            str(r["reason"]),
            json.dumps(r["raw"]) if not isinstance(r["raw"], str) else (r["raw"] or None),
            r.get("record_id"),
            project,
        )
        for r in rejects.to_dict("records")
    ]
    with (
        conn.transaction(),
        conn.cursor().copy(
            "COPY quarantine (ingest_id, table_name, file, row_number, column_name, reason, raw, record_id, project) "
            "FROM STDIN"
        ) as copy,
    ):
        for rec in rows:
            copy.write_row(rec)
    return len(rows)
