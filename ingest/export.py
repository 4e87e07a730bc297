"""Reading a table back from Postgres fast: ``COPY (query) TO STDOUT`` as CSV into a scratch file, parsed in
chunks by Arrow with the schema's types (no per-value Python objects), as pandas frames.

In PostgreSQL's CSV output NULL is an unquoted empty field and an empty string is ``""``, so nulls and empty
strings stay distinct; booleans are ``t`` / ``f``; ``timestamptz`` is written as ISO 8601 in UTC.
"""

from __future__ import annotations

import tempfile
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


def iter_table(
    conn: psycopg.Connection[DictRow], spec: TableSpec, order_by: str, scratch: Path, block_bytes: int = BLOCK_BYTES
) -> Iterator[pd.DataFrame]:
    """Every row of ``spec``'s table ordered by ``order_by``, in frames of about ``block_bytes`` of CSV, with
    the schema's dtypes. The CSV goes through a scratch file in ``scratch`` (removed afterwards)."""
    cols = spec.column_names
    query = sql.SQL("COPY (SELECT {} FROM {} ORDER BY {}) TO STDOUT WITH (FORMAT csv)").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in cols), sql.Identifier(spec.name), sql.Identifier(order_by))
    with tempfile.NamedTemporaryFile(dir=scratch, suffix=".csv") as fh:
        with conn.transaction():
            conn.execute("SET LOCAL TimeZone = 'UTC'")
            conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            with conn.cursor().copy(query) as copy:
                for data in copy:
                    fh.write(data)
        fh.flush()
        reader = pacsv.open_csv(
            fh.name,
            read_options=pacsv.ReadOptions(column_names=cols, block_size=block_bytes),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c.name: ARROW_TYPES[c.dtype] for c in spec.columns},
                true_values=["t"], false_values=["f"], strings_can_be_null=True, quoted_strings_can_be_null=False,
                timestamp_parsers=["%Y-%m-%d %H:%M:%S%z", pacsv.ISO8601]),
        )
        for batch in reader:
            yield batch.to_pandas()
