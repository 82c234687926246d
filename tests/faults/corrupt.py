"""Random corruptions of a recording, as Hypothesis strategies.

One draw applies 1-4 operations to the lines of a valid recording: truncation, flipped
bytes, dropped, duplicated and reordered lines, a value replaced by a wrong type, a
huge number, NaN, a negative size or junk unicode (JSON values or CSV fields), and
junk unicode spliced in anywhere. :func:`gzip_cut` gives a gz stream that ends early.
"""

from __future__ import annotations

import gzip
import re

from hypothesis import strategies as st

NASTY = [
    b'"NaN"',
    b"NaN",
    b'"-1.5"',
    b"-3",
    b'"1e400"',
    b"1e400",
    b"123456789012345678901234567890",
    b'"123456789012345678901234567890"',
    b"-9223372036854775809",
    b"null",
    b"[]",
    b"{}",
    b'"x"',
    b"true",
    b'""',
    b'"\\u0000"',
    b'"\xef\xbc\x99"',
    b"0",
    b'"0"',
    b"-0.0",
    b'"Infinity"',
    b'[["1","2"]]',
    b"1.7976931348623157e309",
]
CSV_NASTY = [
    b"",
    b"NaN",
    b"-5",
    b"1e400",
    b"abc",
    b"\xef\xbc\x99",
    b"99999999999999999999999",
    b"0",
    b"-9999999999",
    b"9999999999",
    b"inf",
    b"1.5.5",
    b'"1"',
]
_JSON_VALUE = re.compile(rb':("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null)')
OPS = ("truncate", "flip", "drop", "duplicate", "swap", "value", "junk")


@st.composite
def corrupted(draw: st.DrawFn, lines: list[bytes], *, csv: bool = False) -> bytes:
    """The recording's lines joined by newlines, after 1-4 random corruptions."""
    lines = list(lines)
    for op in draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=4)):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "value":
            lines[i] = _replace_value(draw, lines[i], csv)
        elif op == "junk":
            text = draw(st.text(min_size=1, max_size=12)).encode("utf-8", "surrogatepass")
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + text + lines[i][at:]
        elif op == "flip":
            if lines[i]:
                at = draw(st.integers(0, len(lines[i]) - 1))
                mask = draw(st.integers(1, 255))
                lines[i] = lines[i][:at] + bytes([lines[i][at] ^ mask]) + lines[i][at + 1 :]
        else:  # truncate the whole recording at a byte
            data = b"\n".join(lines)
            cut = draw(st.integers(0, len(data)))
            lines = data[:cut].split(b"\n")
    return b"\n".join(lines) + b"\n"


def _replace_value(draw: st.DrawFn, line: bytes, csv: bool) -> bytes:
    if csv:
        fields = line.split(b",")
        k = draw(st.integers(0, len(fields) - 1))
        fields[k] = draw(st.sampled_from(CSV_NASTY))
        return b",".join(fields)
    spots = list(_JSON_VALUE.finditer(line))
    if not spots:
        return line
    m = draw(st.sampled_from(spots))
    return line[: m.start(1)] + draw(st.sampled_from(NASTY)) + line[m.end(1) :]


@st.composite
def gzip_cut(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` gzipped, its compressed stream cut short (a recorder killed mid-write)."""
    packed = gzip.compress(data, mtime=0)
    return packed[: draw(st.integers(10, max(10, len(packed) - 1)))]
