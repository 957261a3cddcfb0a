"""PostgreSQL's binary COPY read into NumPy (storage.float_copy): the parser on streams built
by hand from the format's definition, and the real server's stream against a plain fetch."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

import numpy as np
import pytest

from storage.db import Database
from storage.float_copy import SIGNATURE, copy_floats, copy_floats_with_text, parse, parse_with_text

ROWS = [(1.0, -2.5, math.nan), (3.0, 1e300, 0.0), (7.0, 0.125, -1.0)]


def stream(rows: Sequence[Sequence[float | str | None]]) -> bytes:
    """Binary COPY as the format's definition lays it out: header, rows, trailer; a str is a
    text column (its UTF-8 bytes)."""
    out = SIGNATURE + struct.pack(">ii", 0, 0)
    for row in rows:
        out += struct.pack(">h", len(row))
        for value in row:
            if value is None:
                out += struct.pack(">i", -1)
            elif isinstance(value, str):
                out += struct.pack(">i", len(value.encode())) + value.encode()
            else:
                out += struct.pack(">id", 8, value)
    return out + struct.pack(">h", -1)


def read(chunks: list[bytes], width: int = 3, block_bytes: int = 1 << 20) -> np.ndarray:
    blocks = list(parse(chunks, width, block_bytes))
    return np.concatenate(blocks) if blocks else np.zeros((0, width))


def test_rows_come_back_whatever_the_cuts_and_block_size() -> None:
    data = stream(ROWS)
    expected = np.array(ROWS)
    for cut in (1, 2, 5, 19, 21, 40, len(data)):
        chunks = [data[i : i + cut] for i in range(0, len(data), cut)]
        for block_bytes in (1, 50, 1 << 20):  # a block per row or two, or one for all
            found = read(chunks, block_bytes=block_bytes)
            assert np.array_equal(found, expected, equal_nan=True), (cut, block_bytes)


def test_an_empty_result_is_no_block() -> None:
    assert list(parse([stream([])], 3)) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (stream([(1.0, None, 2.0)] * 2), "not 3 non-NULL float8"),
        (stream([(1.0, 2.0)] * 3), "not 3 non-NULL float8"),
        (b"PGCOPY\n", "before its header"),
        (b"COPY" + stream(ROWS)[4:], "not a binary COPY stream"),
        (stream(ROWS)[:-2], "without its trailer"),
        (stream(ROWS)[:-2][:-5] + b"\xff\xff", "not whole rows of 3 non-NULL float8"),
    ],
)
def test_a_stream_of_another_layout_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read([data])


def test_the_servers_streams_equal_a_plain_fetch(db: Database) -> None:
    """Numbers only (a graph's pairs) and numbers with a text (a past graph's lists)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("binary COPY is PostgreSQL's; SQLite builds its graphs with a plain fetch")
    query = (
        "SELECT g::float8,"
        " coalesce(CASE WHEN g %% 3 = 0 THEN NULL ELSE (g / 7.0)::float8 END, 'NaN'),"
        " (g * 1e10)::float8 FROM generate_series(1, %s) AS g"
    )
    texts = (
        "SELECT g::float8, (g / 7.0)::float8,"
        " CASE WHEN g %% 5 = 0 THEN '' ELSE repeat('ü,' || g, g %% 9) END"
        " FROM generate_series(1, %s) AS g"
    )
    with db.engine.connect() as connection:
        cursor = connection.connection.cursor()
        blocks = list(copy_floats(cursor, query, (200_000,), 3))
        fetched = connection.exec_driver_sql(query, (200_000,)).all()
        with_texts = list(copy_floats_with_text(cursor, texts, (100_000,), 2))
        rows = connection.exec_driver_sql(texts, (100_000,)).all()
    assert len(with_texts) > 1
    numbers = np.concatenate([b for b, _ in with_texts])
    assert np.array_equal(numbers, np.array([r[:2] for r in rows], dtype=float))
    assert [t.decode() for _, ts in with_texts for t in ts] == [r[2] for r in rows]
    assert len(blocks) > 1  # 4 MB blocks of 38-byte rows: 7.6 MB
    assert np.array_equal(np.concatenate(blocks), np.array(fetched, dtype=float), equal_nan=True)


TEXT_ROWS = [(1.0, 2.0, "12,34"), (3.0, math.nan, ""), (5.0, 6.0, "é" * 3000), (7.0, 8.0, "9")]


def test_rows_ending_with_a_text_come_back_whatever_the_cuts() -> None:
    """Rows of different sizes (a text of 0 to 6,000 bytes), cut anywhere, blocks of any size."""
    data = stream(TEXT_ROWS)
    for cut in (1, 3, 17, 40, 1000, len(data)):
        chunks = [data[i : i + cut] for i in range(0, len(data), cut)]
        for block_bytes in (1, 60, 1 << 20):
            blocks = list(parse_with_text(chunks, 2, block_bytes))
            numbers = np.concatenate([b for b, _ in blocks])
            texts = [t.decode() for _, ts in blocks for t in ts]
            assert np.array_equal(numbers, [r[:2] for r in TEXT_ROWS], equal_nan=True)
            assert texts == [r[2] for r in TEXT_ROWS], (cut, block_bytes)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (stream([(1.0, 2.0, None)]), "NULL text"),
        (stream([(1.0, None, "x")] * 2), "2 non-NULL float8"),
        (stream([(1.0, 2.0, 3.0, "x")]), "not 2 non-NULL float8"),
        (stream(TEXT_ROWS)[:-2], "without its trailer"),
        (
            stream(TEXT_ROWS)[:-3] + b"\xff\xff",
            "not whole rows of 2 non-NULL float8 columns and a text",
        ),
    ],
)
def test_rows_with_a_text_of_another_layout_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list(parse_with_text([data], 2))
