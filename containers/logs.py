"""Log lines: the options `docker logs` takes, splitting engine chunks into lines, and the bounded
buffer between a fast container and a slow page.

Pure code, no engine calls: containers/engine.py produces the (stream, bytes) chunks.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from datetime import UTC, datetime

DEFAULT_TAIL = 500
MAX_LINE = 64 * 1024  # a longer line is shown in pieces, so one endless line cannot fill memory

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_tail(text: str | None) -> int | None:
    """`--tail`: a number of lines, or "all" (None). Empty means the panel's default of 500."""
    text = (text or "").strip().lower()
    if not text:
        return DEFAULT_TAIL
    if text == "all":
        return None
    if not text.isdigit():
        raise ValueError(f"tail must be a number of lines or 'all', not '{text}'")
    return int(text)


def parse_since(text: str | None, now: float) -> float | None:
    """`--since` as the CLI takes it: a duration before now (10m, 1h30m, 42s), a unix time, or an
    RFC 3339 date/time (2026-11-28T14:00:00Z; without a zone it is UTC). Empty means no limit."""
    text = (text or "").strip()
    if not text:
        return None
    if re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+", text):
        seconds = sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION.findall(text))
        return now - seconds
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    try:
        when = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"since must be a duration such as 10m, a unix time or a date such as 2026-11-28T14:00, not '{text}'"
        )
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def decode(line: bytes) -> str:
    """Text for the page: bytes that are not UTF-8 become U+FFFD instead of failing the line."""
    return line.decode("utf-8", errors="replace")


def split_timestamp(text: str) -> tuple[str, str]:
    """A line logged with timestamps starts "2026-11-28T14:18:15.108846634Z "."""
    stamp, sep, rest = text.partition(" ")
    if sep and len(stamp) >= 20 and stamp[4] == "-" and stamp[10] == "T":
        return stamp, rest
    return "", text


class LineSplitter:
    """Turns (stream, chunk) pairs into (stream, line) pairs, keeping each stream's unfinished line."""

    def __init__(self, max_line: int = MAX_LINE):
        self.max_line = max_line
        self.partial: dict[str, bytes] = {}

    def feed(self, stream: str, chunk: bytes) -> list[tuple[str, bytes]]:
        data = self.partial.pop(stream, b"") + chunk
        *lines, rest = data.split(b"\n")
        out = [(stream, line.removesuffix(b"\r")) for line in lines]
        while len(rest) > self.max_line:
            out.append((stream, rest[: self.max_line]))
            rest = rest[self.max_line :]
        if rest:
            self.partial[stream] = rest
        return out

    def flush(self) -> list[tuple[str, bytes]]:
        """The unfinished lines at the end of the log."""
        out = list(self.partial.items())
        self.partial.clear()
        return out


class LineBuffer:
    """A bounded queue of lines between a reader thread and the page's sender.

    While the page keeps taking lines, a full buffer makes the reader wait (and so stop reading the
    engine, which keeps the log): nothing is skipped however fast the container prints. When nothing
    was taken for `stall_s` (the page is paused, hidden or too slow to acknowledge), the oldest unsent
    lines are dropped instead (and counted) until the page takes again, so a stalled page costs at
    most `capacity` lines of memory and shows the newest lines when it comes back.
    """

    def __init__(self, capacity: int, stall_s: float = 2.0, full_batch: int = 0):
        self.capacity = capacity
        self.stall_s = stall_s
        self.full_batch = full_batch  # a sender waiting for a full batch is told when this many wait
        self._lines: deque = deque()
        self._room = threading.Condition()
        self._dropped = 0
        self.total_dropped = 0
        self.ended = False
        self.closed = False
        self._taken = 0  # takes so far: the page's progress
        self._stalled_at = -1  # the value of _taken when the page was last found stalled

    def push_many(self, lines: list) -> bool:
        """Add lines (waiting for room while the page makes progress); True if the sender may be
        waiting for them: the buffer was empty before, or now holds a full batch for the first time."""
        with self._room:
            self._wait_for_room(len(lines))
            before = len(self._lines)
            self._lines.extend(lines)
            wake = not before or before < self.full_batch <= len(self._lines)
            over = len(self._lines) - self.capacity
            if over > 0:
                for _ in range(over):
                    self._lines.popleft()
                self._dropped += over
                self.total_dropped += over
            return wake

    def _wait_for_room(self, count: int) -> None:
        seen = self._taken
        deadline = time.monotonic() + self.stall_s
        while self._lines and len(self._lines) + count > self.capacity and not self.closed:
            if self._stalled_at == self._taken:
                return  # stalled, and nothing taken since: drop at once, keep the newest
            if self._taken != seen:  # progress: give the page another stall_s
                seen, deadline = self._taken, time.monotonic() + self.stall_s
            left = deadline - time.monotonic()
            if left <= 0:
                self._stalled_at = self._taken
                return
            self._room.wait(left)

    def take(self, limit: int) -> tuple[list, int]:
        """Up to `limit` oldest lines, and how many were dropped since the last take."""
        with self._room:
            count = min(limit, len(self._lines))
            lines = [self._lines.popleft() for _ in range(count)]
            dropped, self._dropped = self._dropped, 0
            if count:
                self._taken += 1
                self._room.notify_all()
            return lines, dropped

    def close(self) -> None:
        """Nobody takes any more (the socket closed): never make the reader wait again."""
        with self._room:
            self.closed = True
            self._room.notify_all()

    def __len__(self) -> int:
        return len(self._lines)
