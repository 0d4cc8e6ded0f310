"""The engine's log framing read a block at a time: HTTP chunks and 8-byte multiplexed frames, split
anywhere across reads, give back every byte of each stream in order."""

import http.client
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from containers.engine import streams

pytestmark = pytest.mark.unit


def chunked(pieces: list[bytes]) -> bytes:
    """An HTTP/1.1 chunked body, as dockerd sends it: one chunk per write."""
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p) + b"0\r\n\r\n"


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def reader(data: bytes, cuts: list[int]):
    """read(n) over data, each call ending at the next cut (as a socket returns what has arrived)."""
    ends = sorted({c for c in cuts if 0 < c < len(data)}) + [len(data)]
    state = {"pos": 0}

    def read(n: int) -> bytes:
        start = state["pos"]
        end = min(next((e for e in ends if e > start), len(data)), start + n)
        state["pos"] = end
        return data[start:end]

    return read


def dechunk(data: bytes, cuts: list[int]) -> bytes:
    return b"".join(streams._dechunked(reader(data, cuts)))


def demultiplex(blocks: list[bytes]) -> list[tuple[str, bytes]]:
    """The runs, with consecutive runs of one stream joined (how they were cut is not the point)."""
    out: list[tuple[str, bytes]] = []
    for stream, data in streams._demultiplexed(iter(blocks)):
        assert data, "an empty run was given"
        if out and out[-1][0] == stream:
            out[-1] = (stream, out[-1][1] + data)
        else:
            out.append((stream, data))
    return out


def test_it_joins_the_chunks_that_arrive_in_one_read():
    body = chunked([b"one\n", b"two\n", b"three\n"])
    assert list(streams._dechunked(reader(body, []))) == [b"one\ntwo\nthree\n"]


@given(st.lists(st.binary(max_size=40), max_size=20), st.lists(st.integers(0, 2000), max_size=30))
def test_it_dechunks_a_body_cut_anywhere(pieces, cuts):
    assert dechunk(chunked(pieces), cuts) == b"".join(pieces)


def test_it_gives_a_huge_chunk_in_pieces_as_they_arrive():
    line = b"x" * (1 << 20) + b"\n"  # 1 MiB in one chunk
    body = chunked([b"before\n", line, b"after\n"])
    blocks = list(streams._dechunked(reader(body, list(range(0, len(body), 4096)))))
    assert b"".join(blocks) == b"before\n" + line + b"after\n"
    assert max(len(b) for b in blocks) <= 4096 + 16  # never held whole


def test_it_reads_a_chunk_extension():
    body = b"4;name=value\r\nabc\n\r\n0\r\n\r\n"
    assert dechunk(body, []) == b"abc\n"


def test_it_says_the_engine_went_away_when_the_body_ends_without_its_last_chunk():
    body = chunked([b"one\n", b"two\n"])[: -len(b"0\r\n\r\n")]
    with pytest.raises(http.client.IncompleteRead):
        dechunk(body, [5])


def test_it_refuses_a_body_that_is_not_chunked():
    with pytest.raises(http.client.IncompleteRead):
        dechunk(b"z" * 5000, [])


def test_it_keeps_the_order_of_stdout_and_stderr_and_joins_runs_of_one_stream():
    data = frame(1, b"a\n") + frame(1, b"b\n") + frame(2, b"oops\n") + frame(1, b"c\n") + frame(2, b"") + frame(2, b"d")
    assert list(streams._demultiplexed(iter([data]))) == [
        ("stdout", b"a\nb\n"),
        ("stderr", b"oops\n"),
        ("stdout", b"c\n"),
        ("stderr", b"d"),
    ]


@given(
    st.lists(st.tuples(st.sampled_from([1, 2]), st.binary(max_size=30)), max_size=20),
    st.lists(st.integers(0, 800), max_size=20),
)
def test_it_demultiplexes_frames_cut_anywhere(frames, cuts):
    data = b"".join(frame(s, p) for s, p in frames)
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    blocks = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    expected: list[tuple[str, bytes]] = []
    for s, p in frames:
        name = "stdout" if s == 1 else "stderr"
        if not p:
            continue
        if expected and expected[-1][0] == name:
            expected[-1] = (name, expected[-1][1] + p)
        else:
            expected.append((name, p))
    assert demultiplex(blocks) == expected


def test_it_gives_a_1_mib_frame_in_pieces_without_holding_it_whole():
    line = b"y" * (1 << 20) + b"\n"
    data = frame(2, b"first\n") + frame(1, line) + frame(2, b"last\n")
    blocks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    runs = list(streams._demultiplexed(iter(blocks)))
    assert max(len(d) for _s, d in runs) <= 65536
    assert demultiplex(blocks) == [("stderr", b"first\n"), ("stdout", line), ("stderr", b"last\n")]


def test_it_reads_every_line_of_a_flood_through_both_layers():
    lines = [b"%d\n" % i for i in range(20000)]
    body = chunked([frame(1 + i % 3 // 2, line) for i, line in enumerate(lines)])
    blocks = streams._dechunked(reader(body, list(range(0, len(body), 777))))
    out = {"stdout": b"", "stderr": b""}
    for stream, data in streams._demultiplexed(blocks):
        out[stream] += data
    assert out["stdout"] == b"".join(line for i, line in enumerate(lines) if i % 3 != 2)
    assert out["stderr"] == b"".join(line for i, line in enumerate(lines) if i % 3 == 2)
