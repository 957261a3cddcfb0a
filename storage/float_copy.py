"""Reading many rows of numbers from PostgreSQL as NumPy arrays, without a Python object per
value: PostgreSQL's binary COPY format (``COPY (query) TO STDOUT (FORMAT BINARY)``) laid
over a structured NumPy dtype.

A cursor's ``fetchmany`` turns every value into a Python float and every row into a tuple:
at 3,000,000 pairs of 14 columns that is two thirds of a relationship graph's build
(docs/scale.md). Binary COPY sends each row as a 16-bit field count, then per field a 32-bit
length and the value, all big-endian; when every column is a non-NULL ``float8`` each row
has the same size (2 + 12 bytes per column), so a block of rows is one ``np.frombuffer``.
Rows that end with one text column (`copy_floats_with_text`) are cut apart with one small
step per row; their numbers are then gathered as one array and their texts kept as bytes.

The format: https://www.postgresql.org/docs/current/sql-copy.html ("Binary Format").
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = len(SIGNATURE) + 8  # the signature, 32-bit flags, 32-bit header extension length
TRAILER = b"\xff\xff"  # a field count of -1
BLOCK_BYTES = 1 << 22  # parse once this much has arrived (about 25,000 rows of 14 columns)
LENGTH = struct.Struct(">i")  # a field's length (-1: NULL)


def row_dtype(width: int) -> np.dtype[Any]:
    """One row of ``width`` non-NULL float8 columns as binary COPY sends it."""
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i in range(width):
        fields += [(f"length{i}", ">i4"), (f"value{i}", ">f8")]
    return np.dtype(fields)


def copy_floats(
    cursor: Any, query: str, params: Sequence[Any], width: int
) -> Iterator[npt.NDArray[np.float64]]:
    """The rows of ``query`` (a SELECT whose ``width`` columns are all float8 and never NULL:
    cast and ``coalesce`` them in SQL) as float64 arrays of ``width`` columns, block by block.
    ``cursor``: a psycopg 3 cursor. Raises ValueError on a row of another layout. A caller
    that stops iterating early makes psycopg cancel the COPY, which fails the transaction as
    any failed statement does: roll back before using the connection again."""
    with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
        yield from parse(copy, width)


def copy_floats_with_text(
    cursor: Any, query: str, params: Sequence[Any], width: int
) -> Iterator[tuple[npt.NDArray[np.float64], list[bytes]]]:
    """`copy_floats` for a SELECT whose ``width`` float8 columns are followed by one text
    column, never NULL (``coalesce`` it): each block's numbers and, row for row, its texts
    as bytes (UTF-8)."""
    with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
        yield from parse_with_text(copy, width)


def parse(
    stream: Iterable[bytes | memoryview], width: int, block_bytes: int = BLOCK_BYTES
) -> Iterator[npt.NDArray[np.float64]]:
    """A binary COPY ``stream``, cut anywhere, as blocks of rows of ``width`` float8 columns."""
    for block, _ in _parse(stream, width, False, block_bytes):
        yield block


def parse_with_text(
    stream: Iterable[bytes | memoryview], width: int, block_bytes: int = BLOCK_BYTES
) -> Iterator[tuple[npt.NDArray[np.float64], list[bytes]]]:
    """`parse` for rows of ``width`` float8 columns and then one non-NULL text column."""
    yield from _parse(stream, width, True, block_bytes)


def _parse(
    stream: Iterable[bytes | memoryview], width: int, text: bool, block_bytes: int
) -> Iterator[tuple[npt.NDArray[np.float64], list[bytes]]]:
    dtype = row_dtype(width)
    cut = _rows_with_text if text else _rows
    what = f"{width} non-NULL float8 columns" + (" and a text" if text else "")
    pending = bytearray()
    started = False
    for data in stream:
        pending += data
        if not started and len(pending) >= HEADER:
            pending = _after_header(pending)
            started = True
        if started and len(pending) >= block_bytes:
            block, texts, pending = cut(pending, dtype, width)
            yield block, texts
    if not started:
        raise ValueError("binary COPY ended before its header")
    if not pending.endswith(TRAILER):
        raise ValueError("binary COPY ended without its trailer")
    block, texts, rest = cut(pending[: -len(TRAILER)], dtype, width)
    if rest:
        raise ValueError(f"binary COPY left {len(rest)} bytes: not whole rows of {what}")
    if len(block):
        yield block, texts


def _after_header(data: bytearray) -> bytearray:
    if not data.startswith(SIGNATURE):
        raise ValueError("not a binary COPY stream")
    extension = int.from_bytes(data[len(SIGNATURE) + 4 : HEADER], "big")
    return data[HEADER + extension :]


def _rows(
    data: bytearray, dtype: np.dtype[Any], width: int
) -> tuple[npt.NDArray[np.float64], list[bytes], bytearray]:
    """The whole rows at the start of ``data`` as a (rows, width) array, and the bytes after."""
    whole = len(data) // dtype.itemsize * dtype.itemsize
    rows = np.frombuffer(bytes(data[:whole]), dtype=dtype)
    return _values(rows, width, width), [], data[whole:]


def _rows_with_text(
    data: bytearray, dtype: np.dtype[Any], width: int
) -> tuple[npt.NDArray[np.float64], list[bytes], bytearray]:
    """`_rows` for rows ending with a text column: the numbers, the texts, the bytes after."""
    fixed = dtype.itemsize
    starts: list[int] = []
    texts: list[bytes] = []
    at, size = 0, len(data)
    while at + fixed + LENGTH.size <= size:
        (length,) = LENGTH.unpack_from(data, at + fixed)
        if length < 0:
            raise ValueError("binary COPY row with a NULL text column")
        end = at + fixed + LENGTH.size + length
        if end > size:
            break
        starts.append(at)
        texts.append(bytes(data[end - length : end]))
        at = end
    raw = np.frombuffer(bytes(data[:at]), dtype=np.uint8)
    picked = raw[np.array(starts, dtype=np.int64)[:, None] + np.arange(fixed)]
    rows = np.ascontiguousarray(picked).reshape(-1).view(dtype)
    return _values(rows, width, width + 1), texts, data[at:]


def _values(rows: npt.NDArray[Any], width: int, fields: int) -> npt.NDArray[np.float64]:
    layout_ok = (rows["count"] == fields).all() and all(
        (rows[f"length{i}"] == 8).all() for i in range(width)
    )
    if not layout_ok:
        raise ValueError(f"binary COPY rows are not {width} non-NULL float8 columns")
    block = np.empty((len(rows), width), dtype=np.float64)
    for i in range(width):
        block[:, i] = rows[f"value{i}"]
    return block
