"""The Binance book sync on its own: snapshot, U/u/pu chain, gap, resync, leftovers."""

from __future__ import annotations

from pathlib import Path

import orjson

from data_lake.importing import ImportSession
from data_lake.lake import Lake
from data_lake.sources.binance.sync import BookSync, Quarantine, diff_of_line

R0 = 1723161255000000000
T0_MS = 1723161256000


def diff_line(n: int, U: int, u: int, pu: int, bids: list[list[str]]) -> bytes:
    data = {"e": "depthUpdate", "E": T0_MS + n, "T": T0_MS + n, "s": "BTCUSDT",
            "U": U, "u": u, "pu": pu, "b": bids, "a": [["100.10", "1.0"]]}
    msg = {"stream": "btcusdt@depth@0ms", "data": data}
    return str(R0 + n).encode() + b" " + orjson.dumps(msg)


def snapshot_msg(n: int, last_id: int) -> dict[str, object]:
    return {"lastUpdateId": last_id, "E": T0_MS + n, "T": T0_MS + n,
            "bids": [["100.00", "1.0"]], "asks": [["100.10", "1.0"]]}


def test_the_book_sync_quarantines_gaps_and_resynchronises_at_the_next_snapshot(
    tmp_path: Path,
) -> None:
    session = ImportSession(Lake.at(tmp_path), importer="binance", venue="binance")
    sync = BookSync("BTCUSDT", 5, interval_ns=0, quarantine=Quarantine(session))

    def feed(n: int, U: int, u: int, pu: int) -> None:
        raw = diff_line(n, U, u, pu, [["99.9", str(n)]])
        sync.diff("f", n, raw, R0 + n, diff_of_line(raw))

    feed(1, 90, 95, 89)  # held, then superseded by the snapshot
    feed(2, 96, 102, 95)  # held, bridges the snapshot
    sync.snapshot("f", 3, b"snapshot", R0 + 3, snapshot_msg(3, 100))
    feed(4, 103, 105, 102)  # chained
    feed(5, 107, 110, 106)  # pu != 105: the book breaks until the next snapshot
    feed(6, 111, 112, 110)  # held behind the gap
    assert (sync.synced, sync.last_u, len(sync.pending)) == (False, 105, 1)
    sync.snapshot("f", 7, b"snapshot", R0 + 7, snapshot_msg(7, 111))
    feed(8, 113, 114, 112)  # chained after the resync through the held diff 111..112
    feed(9, 115, 116, 114)  # chained
    feed(10, 200, 201, 199)  # a second gap, never resolved
    feed(11, 202, 203, 201)  # held behind it: quarantined when the input ends
    sync.close()
    assert sync.accepted == 7  # two snapshots, diffs 102, 105, 112, 114, 116
    assert sync.rows.seq == [100, 102, 105, 111, 112, 114, 116]
    # Superseded diff 1; breaks at diffs 5 and 10; diff 11 still held at the end.
    assert dict(session.quarantined) == {"before snapshot": 1, "broken sequence": 3}
