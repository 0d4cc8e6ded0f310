"""Streams: logs and stats as the engine sends them, parsed without per-chunk overhead."""

from __future__ import annotations

import http.client
import struct
from collections.abc import Callable

import docker
import docker.types.daemon
import docker.utils.json_stream

from containers.engine.errors import EngineError

STDOUT = "stdout"
STDERR = "stderr"
_STREAM_NAMES = {1: STDOUT, 2: STDERR}


class EngineStream:
    """An open engine stream: iterate it in one thread, close() it from any thread to end it.

    Closing shuts the socket down, so a blocked read in the iterating thread returns at once.
    """

    def __init__(self, make_iterator, response, translate: Callable[[BaseException], EngineError]):
        self._response = response
        self._translate = translate
        self._iterator = make_iterator(response)
        self.closed = False
        self.lost = ""  # why the engine ended the stream early, if it did (set by its reader)

    def __iter__(self):
        return self

    def __next__(self):
        if self.closed:
            raise StopIteration
        try:
            return next(self._iterator)
        except StopIteration:
            raise
        except Exception as e:
            if self.closed:  # the socket was shut down by close(): the reader asked for the end
                raise StopIteration from None
            # the engine went away mid-stream: say so, so no page mistakes it for the end of a log
            self.close()
            raise self._translate(e) from e

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            # the SDK's way to find the socket under the response and shut it down
            docker.types.daemon.CancellableStream(iter(()), self._response).close()
            self._response.close()
        except Exception:
            pass  # already closed by the engine or by the reading thread

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_BLOCK = 64 * 1024  # one read of the engine's socket: a flood of short lines arrives thousands at a time
_MAX_CHUNK_LINE = 1024  # an HTTP chunk-size line is a few hex digits: more means the stream is broken


def _body_blocks(response):
    """The response body in the blocks it is read in (up to 64 KiB each), whatever its HTTP chunks.

    A followed log arrives as one small HTTP chunk per line, and urllib3 costs ~20 us per chunk, so a
    chunked body is read here straight from the socket's buffered reader and de-chunked a block at a time.
    """
    message = response.raw._fp
    if not getattr(message, "chunked", False) or message.chunk_left is not None:
        yield from _raw_blocks(response)
        return
    read1 = getattr(message.fp, "read1", None)
    if read1 is None:  # over SSH: paramiko's file has no read1(), and its read(n) waits for all n bytes
        yield from _chunks_by_line(message.fp)
        return
    yield from _dechunked(read1)


def _chunks_by_line(fp):
    """A chunked body's data, a chunk at a time, from a file with readline() and read(n) only."""
    while True:
        line = fp.readline(_MAX_CHUNK_LINE)
        if not line.strip():
            # the connection ended without the last (empty) chunk: the engine went away
            raise http.client.IncompleteRead(b"", None)
        size = int(line.split(b";", 1)[0], 16)
        if size == 0:
            return
        data = fp.read(size)
        fp.read(2)  # the CRLF after each chunk
        if data:
            yield data
        if len(data) < size:
            raise http.client.IncompleteRead(data, size - len(data))


def _dechunked(read: Callable[[int], bytes]):
    """The data of an HTTP/1.1 chunked body read with read(n) (which returns b"" at its end): each read's
    complete chunks joined into one block, a chunk split across reads given as its pieces arrive."""
    buf = b""
    left = 0  # bytes of a chunk begun in an earlier read, still to come
    while True:
        data = read(_BLOCK)
        if not data:
            # the connection ended without the last (empty) chunk: the engine went away
            raise http.client.IncompleteRead(buf, left or None)
        buf = buf + data if buf else data
        pos, end, out = 0, len(buf), []
        while pos < end:
            if left:
                take = min(left, end - pos)
                out.append(buf[pos : pos + take])
                pos += take
                left -= take
                continue
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                if end - pos > _MAX_CHUNK_LINE:
                    raise http.client.IncompleteRead(buf[pos:], None)
                break
            if eol == pos:  # the CRLF after a chunk that arrived in pieces
                pos += 2
                continue
            try:
                size = int(buf[pos:eol], 16)
            except ValueError:
                size = int(buf[pos:eol].split(b";", 1)[0], 16)  # a chunk extension (never sent by dockerd)
            if size == 0:
                if out:
                    yield b"".join(out)
                return
            start, stop = eol + 2, eol + 2 + size
            if stop + 2 <= end:  # the usual case: the whole chunk and its CRLF are here
                out.append(buf[start:stop])
                pos = stop + 2
            else:
                if start < end:
                    out.append(buf[start:stop])
                left = max(stop - end, 0)
                pos = min(stop, end)
        buf = buf[pos:]
        if out:
            yield out[0] if len(out) == 1 else b"".join(out)


def _raw_blocks(response):
    raw = response.raw
    while True:
        data = raw.read1(_BLOCK)
        if not data:
            return
        yield data


def _multiplexed_frames(response):
    """(stream, bytes) from the engine's 8-byte-header framing (one frame per log line): each block's
    consecutive frames of one stream joined, in the order the engine sent them."""
    return _demultiplexed(_body_blocks(response))


def _demultiplexed(blocks):
    """(stream, bytes) runs from blocks of the engine's multiplexed framing; a frame split across blocks
    is given as its pieces arrive, so a huge frame is never held whole."""
    pending = b""
    stream, left = STDOUT, 0  # the stream of a frame begun in an earlier block, and its bytes still to come
    for block in blocks:
        data = pending + block if pending else block
        pos, end = 0, len(data)
        runs: list[tuple[str, list]] = []
        current, parts = None, []
        if left:
            take = min(left, end)
            current, parts = stream, [data[:take]]
            runs.append((current, parts))
            pos, left = take, left - take
        while end - pos >= 8:
            kind, size = struct.unpack_from(">BxxxL", data, pos)
            start, stop = pos + 8, pos + 8 + size
            name = _STREAM_NAMES.get(kind, STDOUT)
            if stop > end:  # the rest of this frame comes in the next blocks
                stop, stream, left = end, name, stop - end
            if stop > start:
                if name is current:
                    parts.append(data[start:stop])
                else:
                    current, parts = name, [data[start:stop]]
                    runs.append((current, parts))
            pos = stop
        pending = data[pos:]
        for name, parts in runs:
            yield name, parts[0] if len(parts) == 1 else b"".join(parts)


def _tty_frames(response):
    """A tty container has one stream: everything is stdout."""
    for block in _body_blocks(response):
        yield STDOUT, block


class StreamCalls:
    """The log and stats calls of an Engine."""

    def container_tty(self, container_id: str) -> bool:
        """Whether the container has a tty (then its logs are one stream, not stdout and stderr)."""
        try:
            return bool(self.client().api.inspect_container(container_id)["Config"].get("Tty"))
        except Exception as e:
            raise self.translate(e, "inspect container") from e

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        since: float | None = None,
        timestamps: bool = False,
        tty: bool | None = None,
    ) -> EngineStream:
        """`docker logs`: an EngineStream of (STDOUT|STDERR, bytes) chunks in the order the engine sent them.

        tail None means all lines; since is a unix time. Chunks are not lines: split them yourself.
        """
        if tty is None:
            tty = self.container_tty(container_id)
        params: dict = {
            "stdout": 1,
            "stderr": 1,
            "follow": 1 if follow else 0,
            "timestamps": 1 if timestamps else 0,
            "tail": "all" if tail is None else str(max(int(tail), 0)),
        }
        if since is not None:
            params["since"] = f"{since:.9f}"
        try:
            api = self.client().api
            response = api._get(api._url("/containers/{0}/logs", container_id), params=params, stream=True)
            api._raise_for_status(response)
            # a followed log may be quiet for longer than the self.client's timeout: that is not an error
            api._disable_socket_timeout(api._get_raw_response_socket(response))
        except Exception as e:
            raise self.translate(e, "logs") from e
        return EngineStream(_tty_frames if tty else _multiplexed_frames, response, self.translate)

    def stats_stream(self, container_id: str) -> EngineStream:
        """The engine's stats samples (raw dicts, about one a second), each with the previous one's CPU
        counters in "precpu_stats" (empty in the first sample)."""
        try:
            api = self.client().api
            response = api._get(api._url("/containers/{0}/stats", container_id), params={"stream": 1}, stream=True)
            api._raise_for_status(response)
            api._disable_socket_timeout(api._get_raw_response_socket(response))
        except Exception as e:
            raise self.translate(e, "stats") from e
        # _body_blocks, not _raw_blocks: over SSH the socket file has no read1() for urllib3's chunk reader
        return EngineStream(lambda r: docker.utils.json_stream.json_stream(_body_blocks(r)), response, self.translate)

    def stats_once(self, container_id: str, one_shot: bool = False) -> dict:
        """One raw stats sample. Without one_shot the engine waits for a second sample so that
        "precpu_stats" is filled (about a second); with one_shot it answers at once without it."""
        try:
            api = self.client().api
            params = {"stream": 0}
            if one_shot:
                params["one-shot"] = 1
            return api._result(api._get(api._url("/containers/{0}/stats", container_id), params=params), json=True)
        except Exception as e:
            raise self.translate(e, "stats") from e
