"""The compiled row formatter: what it writes reads back, with Python's own json and csv parsers, as exactly
the values the columns hold — for any strings (quotes, newlines, Unicode, formula-like cells), floats at
their decimals, NaN, times over four millennia and booleans."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from aquila.orbits.textrows import csv_header, format_rows

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = st.integers(min_value=int((datetime(1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds() * 1000),
                  max_value=int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH).total_seconds() * 1000))
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@st.composite
def tables(draw: st.DrawFn) -> tuple[pa.Table, int]:
    n = draw(st.integers(0, 30))
    decimals = draw(st.integers(0, 6))
    words = draw(st.lists(_TEXT, min_size=1, max_size=5, unique=True))
    ints = draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n))
    floats = draw(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan), st.just(math.inf)),
                           min_size=n, max_size=n))
    times = draw(st.lists(_MS, min_size=n, max_size=n))
    flags = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    codes = draw(st.lists(st.integers(0, len(words) - 1), min_size=n, max_size=n))
    table = pa.table({
        "id": pa.array(ints, pa.int64()),
        "name": pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(words, pa.string())),
        "plain": pa.array([words[c] for c in codes], pa.string()),
        "x_deg": pa.array(np.round(np.array(floats, dtype=np.float64), decimals)),
        "when": pa.array(times, pa.timestamp("ms", tz="UTC")),
        "ok": pa.array(flags, pa.bool_()),
    })
    return table, decimals


def _iso(ms: int) -> str:
    return (_EPOCH + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3].rjust(23, "0") + "Z"


def _expected(table: pa.Table) -> list[dict]:
    rows = []
    for r, ms in zip(table.to_pylist(), table.column("when").cast(pa.int64()).to_pylist(), strict=True):
        x = r["x_deg"]
        rows.append({**r, "name": str(r["name"]), "when": _iso(ms), "x_deg": x if math.isfinite(x) else None})
    return rows


@settings(max_examples=150, deadline=None)
@given(tables())
def test_json_rows_read_back_as_the_columns(case: tuple[pa.Table, int]) -> None:
    table, _ = case
    want = _expected(table)
    nd = bytes(format_rows(table, "ndjson")).decode()
    assert nd.count("\n") == len(want) == len(nd.splitlines())  # one line per row, even for str.splitlines
    assert [json.loads(line) for line in nd.split("\n")[:-1]] == want
    js = bytes(format_rows(table, "json"))
    assert json.loads(b"[" + js[:-1] + b"]") == want if want else js == b""


@settings(max_examples=150, deadline=None)
@given(tables())
def test_csv_rows_read_back_as_the_columns_and_never_as_formulas(case: tuple[pa.Table, int]) -> None:
    table, _ = case
    text = (csv_header(table.column_names) + bytes(format_rows(table, "csv"))).decode()
    got = list(csv.DictReader(io.StringIO(text, newline="")))
    want = _expected(table)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        for key in ("name", "plain"):  # a cell that starts like a formula is kept as text with a leading quote
            assert g[key] == ("'" + w[key] if w[key].startswith(("=", "+", "-", "@", "\t", "\r")) else w[key])
        assert int(g["id"]) == w["id"] and g["when"] == w["when"] and g["ok"] == str(w["ok"]).lower()
        assert (g["x_deg"] == "") if w["x_deg"] is None else float(g["x_deg"]) == w["x_deg"]


def test_fixed_decimals_carry_no_trailing_zeros_and_keep_a_point() -> None:
    table = pa.table({"a": pa.array([10.0, -1.31307, 0.5, -0.25, 1e-6, 123456.789])})
    assert bytes(format_rows(table, "csv")).split() == [b"10.0", b"-1.31307", b"0.5", b"-0.25", b"0.000001",
                                                       b"123456.789"]


def test_times_before_the_epoch_and_in_leap_years() -> None:
    ms = [int((d - _EPOCH).total_seconds() * 1000) for d in (datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
                                                             datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
                                                             datetime(2000, 3, 1, tzinfo=UTC))]
    table = pa.table({"t": pa.array(ms, pa.timestamp("ms", tz="UTC"))})
    assert bytes(format_rows(table, "csv")).split() == [b"1969-12-31T23:59:59.999Z", b"2024-02-29T12:00:00.000Z",
                                                       b"2000-03-01T00:00:00.000Z"]
