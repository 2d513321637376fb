"""The results store's schema: one tidy long table, one row per (cell, metric, protocol).

Layout under a results folder (``--results``, default ``results/``)::

    runs/<run_id>/manifest.json     config, versions, device, dates, datasets, failures, status
    runs/<run_id>/scores.parquet    every row of a finished run
    runs/<run_id>/parts/*.parquet   rows written while the run is going (merged at the end)
    runs/<run_id>/images/...        SR PNGs with --save-images

The columns are documented in ``results/README.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "CELL_KEY",
    "COLUMNS",
    "FIELDS",
    "IDENTITY",
    "MANIFEST",
    "NULLABLE_KEY",
    "ROW_KEY",
    "SCHEMA",  # noqa: F822 (served by __getattr__, built on first use)
    "SET_IMAGE",
    "arrow_schema",
    "conform",
    "empty_frame",
    "to_frame",
    "to_table",
]

#: The columns and their arrow types, in order (:data:`SCHEMA`, the arrow schema, is built
#: from them when first used: pyarrow takes 0.2 s to import).
FIELDS = (
    ("run_id", "string"),
    ("dataset", "string"),
    ("dataset_version", "string"),
    ("image", "string"),
    ("scale", "int16"),
    ("degradation", "string"),
    ("degradation_version", "string"),
    ("seed", "int64"),
    ("method", "string"),
    ("method_version", "string"),
    ("metric", "string"),
    ("metric_version", "string"),
    ("protocol", "string"),
    ("value", "float64"),
    ("samples", "int64"),
    ("spread", "float64"),
    ("error", "string"),
    ("sample", "int64"),
    ("sample_seed", "int64"),
    ("aggregate", "string"),
)
COLUMNS = tuple(name for name, _ in FIELDS)
#: What a value is and how it was measured: every column but the run, image, value and error.
IDENTITY = (
    "dataset",
    "dataset_version",
    "scale",
    "degradation",
    "degradation_version",
    "seed",
    "method",
    "method_version",
    "metric",
    "metric_version",
    "protocol",
)
#: The ``image`` of a set-level row (FID, KID): one value for the whole set.
SET_IMAGE = ""
#: One (image, method, sample) cell of the grid: the unit a resumed run skips or redoes
#: (``sample`` is null for a deterministic method, the draw's index for a stochastic one).
CELL_KEY = ("run_id", "dataset", "image", "scale", "degradation", "seed", "method", "sample")
#: One row: a cell's value for one metric under one protocol (``aggregate`` is null for a
#: measured value, ``mean``/``best``/``diversity`` for one summarising a stochastic method's
#: samples of an image).
ROW_KEY = (*CELL_KEY, "metric", "protocol", "aggregate")
#: Key columns that may be null: rows written before stochastic methods have neither.
NULLABLE_KEY = ("sample", "aggregate")
MANIFEST = "manifest.json"


@functools.cache
def arrow_schema() -> pa.Schema:
    """The store's arrow schema (:data:`FIELDS`), also served as :data:`SCHEMA`."""
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, kind)()) for name, kind in FIELDS])


def __getattr__(name: str) -> Any:
    if name == "SCHEMA":  # built on first use, with pyarrow
        return arrow_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_table(rows: Sequence[dict[str, Any]] | pd.DataFrame) -> pa.Table:
    """Rows (dicts or a frame) as an arrow table in :data:`SCHEMA`."""
    import pandas as pd
    import pyarrow as pa

    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    if not isinstance(rows, pd.DataFrame):  # None beside big ints would make them floats
        for name in NULLABLE_INTS:
            frame[name] = pd.array([r.get(name) for r in rows], dtype="Int64")
    return pa.Table.from_pandas(frame, schema=arrow_schema(), preserve_index=False)


#: Integer columns that may be null, read as pandas' nullable ``Int64`` (a float would round
#: a 63-bit ``sample_seed``).
NULLABLE_INTS = ("sample", "sample_seed")


def to_frame(table: pa.Table) -> pd.DataFrame:
    """A table in :data:`SCHEMA` as a frame; :data:`NULLABLE_INTS` as ``Int64``."""
    import pandas as pd

    frame = table.to_pandas()
    for name in NULLABLE_INTS:
        frame[name] = pd.array(table.column(name).to_pylist(), dtype="Int64")
    return frame


def empty_frame() -> pd.DataFrame:
    """A frame with the store's columns and no rows."""
    return to_frame(to_table([]))


def conform(table: pa.Table) -> pa.Table:
    """A table in the current schema: columns added since it was written become nulls, so
    runs stored by earlier versions stay readable."""
    import pyarrow as pa

    schema = arrow_schema()
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)
