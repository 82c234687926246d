"""Fuzzing the importers: valid recordings round-trip, corrupt ones never crash an import.

Every corrupted example must give a report with in = accepted + quarantined (or, for a
damaged gz stream only, a clean error naming the file). Failures found are kept in
tests/faults/corpus/ and replayed by test_corpus.py.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.faults.corrupt import corrupted, gzip_cut
from tests.faults.fuzzing import (
    FUZZ,
    check_accounted,
    expected,
    fresh_lake,
    import_files,
    rows,
    write_input,
)
from tests.faults.recordings import (
    Recording,
    binance_recordings,
    hyperliquid_recordings,
    lobster_recordings,
)

TRADE_COLS = ["ts", "price", "size", "side", "trade_id"]
QUOTE_COLS = ["ts", "seq", "bid_px", "bid_sz", "ask_px", "ask_sz"]
LINE_SOURCES = {"binance": binance_recordings, "hyperliquid": hyperliquid_recordings}


def _round_trip(source: str, rec: Recording, columns: dict[str, list[str]]) -> None:
    with fresh_lake() as lake:
        d = lake.paths.home
        if rec.files:
            paths = [write_input(d, n, b"\n".join(lines) + b"\n") for n, lines in rec.files.items()]
        else:
            paths = [write_input(d, "rec.txt", b"\n".join(rec.lines) + b"\n")]
        report = import_files(source, lake, paths)
        assert not isinstance(report, Exception)
        assert report.n_quarantined == 0, report.examples
        assert report.records_in == rec.records
        for table, cols in columns.items():
            assert rows(lake, table, cols) == expected(rec.expected.get(table, []), cols), table


@FUZZ
@given(binance_recordings())
def test_binance_valid_recordings_round_trip_exactly(rec: Recording) -> None:
    _round_trip(
        "binance", rec, {"trades": [*TRADE_COLS, "recv_ts"], "bbo": [*QUOTE_COLS, "recv_ts"]}
    )


@FUZZ
@given(hyperliquid_recordings())
def test_hyperliquid_valid_recordings_round_trip_exactly(rec: Recording) -> None:
    _round_trip(
        "hyperliquid",
        rec,
        {
            "trades": [*TRADE_COLS, "recv_ts"],
            "bbo": [*QUOTE_COLS, "recv_ts"],
            "book": [*QUOTE_COLS, "recv_ts"],
            "funding": ["ts", "rate", "interval_s", "mark_px", "oracle_px", "recv_ts"],
        },
    )


@FUZZ
@given(lobster_recordings())
def test_lobster_valid_recordings_round_trip_exactly(rec: Recording) -> None:
    _round_trip("lobster", rec, {"trades": TRADE_COLS, "book": ["ts", "seq", "bid_px", "ask_px"]})


@FUZZ
@given(st.sampled_from(sorted(LINE_SOURCES)), st.data())
def test_corrupt_line_recordings_never_crash_and_every_line_is_accounted(
    source: str, data: st.DataObject
) -> None:
    rec = data.draw(LINE_SOURCES[source]())
    blob = data.draw(corrupted(rec.lines))
    gz = data.draw(st.booleans())
    with fresh_lake() as lake:
        path = write_input(lake.paths.home, "rec.txt", blob, gz=gz)
        if gz and data.draw(st.booleans()):
            path.write_bytes(data.draw(gzip_cut(blob)))
        check_accounted(lake, import_files(source, lake, [path]), compressed=gz)


@FUZZ
@given(st.data())
def test_corrupt_lobster_pairs_never_crash_and_every_pair_is_accounted(
    data: st.DataObject,
) -> None:
    rec = data.draw(lobster_recordings())
    gz = data.draw(st.booleans())
    with fresh_lake() as lake:
        paths = []
        for name, lines in rec.files.items():
            blob = (
                data.draw(corrupted(lines, csv=True))
                if data.draw(st.booleans())
                else (b"\n".join(lines) + b"\n")
            )
            path = write_input(lake.paths.home, name, blob, gz=gz)
            if gz and data.draw(st.booleans()):
                path.write_bytes(data.draw(gzip_cut(blob)))
            paths.append(path)
        check_accounted(lake, import_files("lobster", lake, paths), compressed=gz)


@FUZZ
@given(st.data())
def test_the_corruption_strategy_changes_the_recording(data: st.DataObject) -> None:
    """Guard against a fuzzer that silently hands the importers valid input only."""
    lines = [b'1 {"a":"1.0","b":2}', b'2 {"a":"3.5","b":4}', b'3 {"a":"0.5","b":6}']
    valid = b"\n".join(lines) + b"\n"
    changed = [data.draw(corrupted(lines)) != valid for _ in range(8)]
    assert any(changed)
