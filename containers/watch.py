"""Watching a container live: its logs and its stats over websockets.

Each socket reads one engine stream in its own thread (not the shared executor, which a long
`docker logs -f` would hold for hours) and closes that stream in disconnect().
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from containers import engine, logs, stats
from containers.consumers import PanelConsumer

CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400


def call_soon(loop: asyncio.AbstractEventLoop, callback: Callable, *args) -> None:
    """Hand work to the socket's event loop from a reader thread; after the loop is gone, drop it."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:
        pass  # the loop has closed: nobody is listening any more


def read_in_thread(stream: engine.EngineStream, handle: Callable[[object], None], done: Callable[[], None]):
    """Iterate an engine stream in a daemon thread, calling handle(item) for each and done() at the end.

    If the engine goes away mid-stream, stream.lost holds the error's text when done() is called.
    """

    def run() -> None:
        try:
            for item in stream:
                handle(item)
        except engine.EngineError as e:
            stream.lost = str(e)
        finally:
            done()

    thread = threading.Thread(target=run, name="engine-stream", daemon=True)
    thread.start()
    return thread


class ContainerConsumer(PanelConsumer):
    """Base for sockets about one container (`ref` in the URL): resolves it or closes with 4404."""

    stream: engine.EngineStream | None = None

    def query(self) -> dict[str, str]:
        parsed = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        return {k: v[-1] for k, v in parsed.items()}

    async def resolve(self) -> engine.ContainerRef | None:
        ref = self.scope["url_route"]["kwargs"]["ref"]
        try:
            return await self.engine.short_call(self.engine.resolve_container, ref)
        except engine.EngineError as e:
            await self.fail(str(e), CLOSE_NOT_FOUND if isinstance(e, engine.NotFound) else CLOSE_BAD_REQUEST)
            return None

    async def fail(self, message: str, code: int) -> None:
        """Explain in a message, then close: the page shows the message."""
        await self.accept()
        await self.send(text_data=json.dumps({"type": "error", "message": message}))
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.stream is not None:
            await self.engine.short_call(self.stream.close)
        await super().disconnect(code)


class LogsConsumer(ContainerConsumer):
    """`docker logs [-f] [--tail N] [--since T] [-t]` as batches of lines.

    Server -> page: {"type": "start", "tty": bool, "name": ...}, then
    {"type": "lines", "lines": [[stream, timestamp, text], ...], "dropped": n, "seq": k} where
    stream is "stdout"/"stderr", dropped counts lines skipped since the previous batch because
    the page stopped acknowledging, and buffered the lines still waiting on the server (at most
    BUFFER), then {"type": "end"} when the log ends (not following, or the container stopped).
    Page -> server: {"type": "ack", "seq": k} after showing batch k.

    Pacing is by acknowledgements only: when nothing is unacknowledged a batch leaves at once with
    whatever lines gathered (up to BATCH), so a quiet log shows each line as it comes; a batch that is
    not full follows another one only GATHER seconds later, and while batches are on their way only
    full ones follow (up to IN_FLIGHT unacknowledged), the rest waiting for the next acknowledgement.
    So a flood travels in a few big messages, not in as many small ones as lines happen to arrive
    together (which cost a message, a JSON encoding and a frame of the page each). While the page keeps
    acknowledging, a full buffer stops the reading of the engine instead of skipping lines; after
    STALL seconds without an acknowledgement the oldest waiting lines are skipped (and counted) so
    a paused or hidden page costs at most BUFFER lines and comes back to the newest ones.
    """

    BUFFER = 10000  # lines held for one socket at most
    BATCH = 2000  # lines per message at most
    IN_FLIGHT = 4  # a page renders all it has in one animation frame: let one frame take 8,000 lines
    STALL = 2.0  # seconds without an acknowledgement after which lines are skipped
    GATHER = 0.005  # seconds between two batches that are not full: a flood goes in fewer, bigger messages

    async def start(self) -> None:
        q = self.query()
        try:
            tail = logs.parse_tail(q.get("tail"))
            since = logs.parse_since(q.get("since"), time.time())
        except ValueError as e:
            await self.fail(str(e), CLOSE_BAD_REQUEST)
            return
        self.timestamps = q.get("timestamps", "0") in ("1", "on", "true")
        follow = q.get("follow", "1") in ("1", "on", "true")
        container = await self.resolve()
        if container is None:
            return
        try:
            tty = container.tty
            if tty is None:
                tty = await self.engine.short_call(self.engine.container_tty, container.id)
            self.stream = await self.engine.short_call(
                self.engine.logs,
                container.id,
                follow=follow,
                tail=tail,
                since=since,
                timestamps=self.timestamps,
                tty=tty,
            )
        except engine.EngineError as e:
            await self.fail(str(e), CLOSE_BAD_REQUEST)
            return
        await self.accept()
        await self.send(text_data=json.dumps({"type": "start", "tty": tty, "name": container.name, "follow": follow}))
        self.buffer = logs.LineBuffer(self.BUFFER, stall_s=self.STALL, full_batch=self.BATCH)
        self.in_flight = 0
        self.last_sent = 0.0
        self.seq = 0
        self.wakeup = asyncio.Event()
        loop = asyncio.get_running_loop()
        splitter = logs.LineSplitter()

        def wake() -> None:
            call_soon(loop, self.wakeup.set)

        def handle(chunk) -> None:
            if self.buffer.push_many(splitter.feed(*chunk)):
                wake()

        def done() -> None:
            self.buffer.push_many(splitter.flush())
            self.buffer.ended = True
            wake()

        read_in_thread(self.stream, handle, done)
        self.sender = asyncio.create_task(self.send_batches())

    def line(self, item: tuple[str, bytes]) -> list[str]:
        stream, raw = item
        text = logs.decode(raw)
        stamp, text = logs.split_timestamp(text) if self.timestamps else ("", text)
        return [stream, stamp, text]

    async def send_batches(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            gap = self.last_sent + self.GATHER - time.monotonic()
            if gap > 0 and len(self.buffer) < self.BATCH and not self.buffer.ended:
                await asyncio.sleep(gap)
            while self.in_flight < self.IN_FLIGHT:
                if self.in_flight and len(self.buffer) < self.BATCH and not self.buffer.ended:
                    break  # gather a full batch, or wait for the acknowledgement
                lines, dropped = self.buffer.take(self.BATCH)
                if not lines and not dropped:
                    if self.buffer.ended and not len(self.buffer):
                        lost = getattr(self.stream, "lost", "")
                        # "lost": the engine went away, not the log's end; the page says so and resumes
                        await self.send(
                            text_data=json.dumps({"type": "lost", "message": lost} if lost else {"type": "end"})
                        )
                        return
                    break
                self.seq += 1
                self.in_flight += 1
                message = {
                    "type": "lines",
                    "seq": self.seq,
                    "lines": [self.line(i) for i in lines],
                    "dropped": dropped,
                    "buffered": len(self.buffer),
                }
                await self.send(text_data=json.dumps(message))
                self.last_sent = time.monotonic()

    async def receive(self, text_data=None, bytes_data=None) -> None:
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return  # malformed frames are ignored
        if isinstance(message, dict) and message.get("type") == "ack" and getattr(self, "in_flight", 0) > 0:
            self.in_flight -= 1
            self.wakeup.set()

    async def disconnect(self, code: int) -> None:
        sender = getattr(self, "sender", None)
        if sender is not None:
            sender.cancel()
        buffer = getattr(self, "buffer", None)
        if buffer is not None:
            buffer.close()  # a reader waiting for room goes on to see the stream closed
        await super().disconnect(code)


class StatsConsumer(ContainerConsumer):
    """`docker stats` for one container: {"type": "sample", "usage": {...}, "text": {...}} about once a
    second while it runs, {"type": "stopped"} while it does not."""

    async def start(self) -> None:
        container = await self.resolve()
        if container is None:
            return
        try:
            self.stream = await self.engine.short_call(self.engine.stats_stream, container.id)
        except engine.EngineError as e:
            await self.fail(str(e), CLOSE_BAD_REQUEST)
            return
        await self.accept()
        await self.send(text_data=json.dumps({"type": "start", "name": container.name}))
        self.samples: asyncio.Queue = asyncio.Queue(maxsize=5)
        loop = asyncio.get_running_loop()

        def offer(item) -> None:
            if not self.samples.full():  # a stalled page skips samples rather than queueing them
                self.samples.put_nowait(item)

        read_in_thread(
            self.stream,
            lambda sample: call_soon(loop, offer, sample),
            lambda: call_soon(loop, offer, None),
        )
        self.sender = asyncio.create_task(self.send_samples())

    async def send_samples(self) -> None:
        while True:
            sample = await self.samples.get()
            if sample is None:
                lost = getattr(self.stream, "lost", "")
                await self.send(text_data=json.dumps({"type": "lost", "message": lost} if lost else {"type": "end"}))
                return
            if not stats.is_running_sample(sample):
                await self.send(text_data=json.dumps({"type": "stopped"}))
                continue
            usage = stats.usage(sample)
            message = {"type": "sample", "usage": usage.as_dict(), "text": stats.format_usage(usage)}
            await self.send(text_data=json.dumps(message))

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass  # the page has nothing to say on this socket

    async def disconnect(self, code: int) -> None:
        sender = getattr(self, "sender", None)
        if sender is not None:
            sender.cancel()
        await super().disconnect(code)
