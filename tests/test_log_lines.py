"""Pure log handling: `docker logs` options, line splitting, and the bounded buffer."""

import threading
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from containers import logs

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC).timestamp()


def test_it_parses_tail():
    assert logs.parse_tail("") == 500
    assert logs.parse_tail(None) == 500
    assert logs.parse_tail("25") == 25
    assert logs.parse_tail("0") == 0
    assert logs.parse_tail("ALL") is None
    with pytest.raises(ValueError, match="number of lines or 'all'"):
        logs.parse_tail("-3")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("10m", NOW - 600),
        ("1h30m", NOW - 5400),
        ("42s", NOW - 42),
        ("1.5h", NOW - 5400),
        ("1700000000", 1700000000.0),
        ("1700000000.25", 1700000000.25),
        ("2026-11-28T13:00:00Z", NOW - 3600),
        ("2026-11-28T13:00", NOW - 3600),
        ("2026-11-28T15:00:00+02:00", NOW - 3600),
        ("2026-11-28T13:59:59.123456789Z", NOW - 1 + 0.123456),
    ],
)
def test_it_parses_since_like_the_cli(text, expected):
    got = logs.parse_since(text, NOW)
    assert got == (None if expected is None else pytest.approx(expected))


def test_it_explains_a_bad_since():
    with pytest.raises(ValueError, match="duration such as 10m"):
        logs.parse_since("yesterday", NOW)


def test_it_splits_timestamps_off():
    assert logs.split_timestamp("2026-11-28T14:18:15.108846634Z hello world") == (
        "2026-11-28T14:18:15.108846634Z",
        "hello world",
    )
    assert logs.split_timestamp("no stamp here") == ("", "no stamp here")


def test_it_decodes_bytes_that_are_not_utf8_with_replacement():
    assert logs.decode(b"caf\xe9 \xff ok") == "caf\ufffd \ufffd ok"
    assert logs.decode("naïve ✓".encode()) == "naïve ✓"


def test_it_joins_lines_split_across_chunks_per_stream():
    s = logs.LineSplitter()
    assert s.feed("stdout", b"hel") == []
    assert s.feed("stderr", b"oops\npart") == [("stderr", b"oops")]
    assert s.feed("stdout", b"lo\r\nnext\n") == [("stdout", b"hello"), ("stdout", b"next")]
    assert s.flush() == [("stderr", b"part")]


def test_it_cuts_an_endless_line_into_pieces():
    s = logs.LineSplitter(max_line=10)
    out = s.feed("stdout", b"x" * 25)
    assert out == [("stdout", b"x" * 10), ("stdout", b"x" * 10)]
    assert s.flush() == [("stdout", b"x" * 5)]


@given(st.lists(st.binary(max_size=50), max_size=30))
def test_it_loses_no_byte_when_splitting(chunks):
    s = logs.LineSplitter()
    lines = [line for chunk in chunks for _stream, line in s.feed("stdout", chunk)]
    lines += [line for _stream, line in s.flush()]
    *complete, rest = b"".join(chunks).split(b"\n")
    assert lines == [line.removesuffix(b"\r") for line in complete] + ([rest] if rest else [])


def test_it_keeps_the_buffer_bounded_and_counts_what_it_dropped():
    buffer = logs.LineBuffer(capacity=1000, stall_s=0)  # nobody takes: stalled at once
    for start in range(0, 1_000_000, 10_000):
        buffer.push_many(list(range(start, start + 10_000)))
        assert len(buffer) <= 1000
    lines, dropped = buffer.take(300)
    assert lines == list(range(999_000, 999_300))  # the newest lines are kept
    assert dropped == 999_000
    lines, dropped = buffer.take(5000)
    assert (len(lines), dropped) == (700, 0)
    assert buffer.total_dropped == 999_000


def test_it_tells_the_sender_when_lines_arrive_in_an_empty_buffer():
    buffer = logs.LineBuffer(capacity=10)
    assert buffer.push_many(["a"]) is True
    assert buffer.push_many(["b"]) is False
    buffer.take(10)
    assert buffer.push_many(["c"]) is True


def test_it_tells_the_sender_when_a_full_batch_is_waiting():
    buffer = logs.LineBuffer(capacity=100, full_batch=10)
    assert buffer.push_many(["a"]) is True  # was empty
    assert buffer.push_many(["b"] * 8) is False  # 9: not a full batch yet
    assert buffer.push_many(["c"]) is True  # 10: a full batch now
    assert buffer.push_many(["d"]) is False  # told once
    buffer.take(5)
    assert buffer.push_many(["e"] * 3) is False  # 6 + 3 = 9
    assert buffer.push_many(["f"] * 5) is True  # 14: crosses 10 again


def test_it_makes_a_fast_reader_wait_instead_of_skipping_while_lines_are_taken():
    buffer = logs.LineBuffer(capacity=1000, stall_s=60)  # a taker slower than 60 s per take is stalled
    total = 200_000

    def read():
        for start in range(0, total, 100):
            buffer.push_many(list(range(start, start + 100)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    got: list[int] = []
    while len(got) < total:
        lines, dropped = buffer.take(300)
        assert dropped == 0
        assert len(buffer) <= 1000
        got.extend(lines)
        if not lines:
            assert reader.is_alive() or len(buffer), "the reader stopped before pushing everything"
            time.sleep(0.001)
    reader.join(30)
    assert got == list(range(total))  # all of them, in order
    assert buffer.total_dropped == 0


def test_it_skips_the_oldest_lines_once_nothing_is_taken_and_waits_again_after_a_take():
    buffer = logs.LineBuffer(capacity=10, stall_s=0.01)
    buffer.push_many(list(range(10)))
    buffer.push_many(list(range(10, 15)))  # nobody took for stall_s: the 5 oldest go
    buffer.push_many(list(range(15, 20)))  # still stalled: no second wait
    assert buffer.take(3) == ([10, 11, 12], 10)
    assert buffer.total_dropped == 10


def test_it_releases_a_waiting_reader_when_closed():
    buffer = logs.LineBuffer(capacity=10, stall_s=3600)
    buffer.push_many(list(range(10)))
    reader = threading.Thread(target=buffer.push_many, args=([10, 11],), daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while not buffer._room._waiters:  # the reader is waiting for room
        assert time.monotonic() < deadline, "the reader never waited"
        time.sleep(0.01)
    buffer.close()
    reader.join(30)
    assert not reader.is_alive()
    assert (len(buffer), buffer.total_dropped) == (10, 2)
