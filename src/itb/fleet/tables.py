"""The study's tables as Arrow: fixed schemas, and Parquet written the same way every time.

`patients.parquet` and `events.parquet` must be byte-identical for any number of workers or
partitions: the schema is fixed here (no pandas metadata, no timestamps), rows come in
patient order, and row groups have a fixed size whatever the partitions were
(`DeterministicWriter`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from itb.fleet.patient_run import COUNT_COLUMNS, PatientResult

ROW_GROUP = 65_536
PATIENT_SCHEMA = pa.schema([
    ("patient", pa.int64()), ("origin", pa.string()), ("unapproved_drug", pa.bool_()),
    ("dose_start_mcg_per_day", pa.int32()), ("dose_end_mcg_per_day", pa.int32()),
    ("clearance_ml_per_h", pa.float64()), ("withdrawal_max_stage", pa.int8()),
    ("years", pa.float64()), ("withdrawal_episodes", pa.int32()),
    ("severe_withdrawal_episodes", pa.int32()), ("overdose_episodes", pa.int32()),
    ("worst_withdrawal_stage", pa.int8()), ("worst_overdose_stage", pa.int8()),
    ("withdrawal_hours", pa.float64()), ("first_pump_days", pa.float64()),
    ("first_pump_stalled", pa.bool_()),
    *[(name, pa.int32()) for name in COUNT_COLUMNS],
])
EVENT_SCHEMA = pa.schema([
    ("patient", pa.int64()), ("day", pa.float64()), ("category", pa.string()),
    ("kind", pa.string()), ("detail", pa.string()), ("value", pa.float64()),
])
DAILY_SCHEMA = pa.schema([
    ("patient", pa.int64()), ("day", pa.int32()), ("csf_mcg", pa.float64()),
    ("worst_withdrawal_stage", pa.int8()), ("worst_overdose_stage", pa.int8()),
])


def daily_table(results: list[PatientResult]) -> pa.Table:
    parts = [pa.Table.from_pydict(r.daily, schema=DAILY_SCHEMA) for r in results
             if r.daily is not None]
    return pa.concat_tables(parts) if parts else DAILY_SCHEMA.empty_table()


def patients_table(results: list[PatientResult]) -> pa.Table:
    return pa.Table.from_pylist([r.row for r in results], schema=PATIENT_SCHEMA)


def events_table(results: list[PatientResult]) -> pa.Table:
    rows: list[dict[str, Any]] = []
    names = EVENT_SCHEMA.names
    for result in results:
        # Each patient's events in time order (stable: the order they were written).
        for event in sorted(result.events, key=lambda e: e[1]):
            rows.append(dict(zip(names, event, strict=True)))
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


class DeterministicWriter:
    """Writes tables fed in pieces as fixed-size row groups (ROW_GROUP rows, the last one
    shorter), so the file does not depend on how the rows were split."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(path, schema, compression="zstd",
                                        write_statistics=True)
        self._schema = schema
        self._pending: list[pa.Table] = []
        self._rows = 0

    def write(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._rows += table.num_rows
        if self._rows >= ROW_GROUP:
            self._flush(final=False)

    def _flush(self, *, final: bool) -> None:
        table = pa.concat_tables(self._pending) if self._pending else \
            self._schema.empty_table()
        offset = 0
        while table.num_rows - offset >= ROW_GROUP or (final and offset < table.num_rows):
            size = min(ROW_GROUP, table.num_rows - offset)
            # One chunk per group: page boundaries must not follow the partitions.
            self._writer.write_table(table.slice(offset, size).combine_chunks(),
                                     row_group_size=ROW_GROUP)
            offset += size
        rest = table.slice(offset)
        self._pending = [rest] if rest.num_rows else []
        self._rows = rest.num_rows

    def close(self) -> None:
        self._flush(final=True)
        self._writer.close()
