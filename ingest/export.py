"""Reading a table back from Postgres fast: ``COPY (query) TO STDOUT`` as CSV into a scratch file, parsed in
chunks by Arrow with the schema's types (no per-value Python objects), as pandas frames.

In PostgreSQL's CSV output NULL is an unquoted empty field and an empty string is ``""``, so nulls and empty
strings stay distinct; booleans are ``t`` / ``f``; ``timestamptz`` is written as ISO 8601 in UTC.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from psycopg.rows import DictRow

from ingest.schema import TableSpec

ARROW_TYPES = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "str": pa.string(),
               "timestamp": pa.timestamp("us", tz="UTC")}  # fmt: skip
BLOCK_BYTES = 64 << 20


def _copy_out(conn: psycopg.Connection[DictRow], select: sql.Composable, dest: Path, server_file: bool) -> None:
    """Write the query's CSV to ``dest``: by the server itself (``server_file``), else streamed through this
    process."""
    with conn.transaction():
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        if server_file:
            conn.execute(sql.SQL("COPY ({}) TO {} WITH (FORMAT csv)").format(select, sql.Literal(str(dest))))
            return
        with dest.open("wb") as fh, conn.cursor().copy(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(
                select)) as copy:
            for data in copy:
                fh.write(data)


def iter_table(
    conn: psycopg.Connection[DictRow], spec: TableSpec, order_by: str, scratch: Path, block_bytes: int = BLOCK_BYTES,
    server_file: bool = False, project: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Every row of ``spec``'s table ordered by ``order_by``, in frames of about ``block_bytes`` of CSV, with
    the schema's dtypes. The CSV goes through a scratch file (removed afterwards) in ``scratch``, or with
    ``server_file`` one written by the server itself in its data directory (a server on this machine, such as
    the embedded one: no row passes through Python). ``project`` keeps that project's rows only."""
    cols = spec.column_names
    where = sql.SQL("WHERE project = {}").format(sql.Literal(project)) if project is not None else sql.SQL("")
    select = sql.SQL("SELECT {} FROM {} {} ORDER BY {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in cols), sql.Identifier(spec.name), where,
        sql.Identifier(order_by))
    if server_file:
        row = conn.execute("SELECT current_setting('data_directory') AS d").fetchone()
        assert row is not None
        scratch = Path(row["d"])
    dest = scratch / f"opsgraph-export-{uuid.uuid4().hex}.csv"
    try:
        _copy_out(conn, select, dest, server_file)
        reader = pacsv.open_csv(
            dest,
            read_options=pacsv.ReadOptions(column_names=cols, block_size=block_bytes),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c.name: ARROW_TYPES[c.dtype] for c in spec.columns},
                true_values=["t"], false_values=["f"], strings_can_be_null=True, quoted_strings_can_be_null=False,
                timestamp_parsers=["%Y-%m-%d %H:%M:%S%z", pacsv.ISO8601]),
        )
        for batch in reader:
            yield batch.to_pandas()
    finally:
        dest.unlink(missing_ok=True)
