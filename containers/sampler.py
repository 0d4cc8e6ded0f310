"""CPU and memory of every running container, kept fresh in the background for the list page.

The engine needs about a second to answer any stats request (it publishes samples once a second),
so one call per container per page load would take seconds. Instead, like `docker stats` without
arguments, the sampler holds one stats stream per running container, each read by its own thread,
and the page reads the latest numbers from memory. It starts on the first request and stops
(closing every stream) after IDLE seconds without one.
"""

from __future__ import annotations

import logging
import threading
import time

from containers import engine, stats

log = logging.getLogger(__name__)

# a stream being opened, in _streams until it is open
_OPENING = object()


class Sampler:
    def __init__(self, idle: float = 60.0, refresh: float = 2.0):
        self.idle = idle
        self.refresh = refresh
        self._lock = threading.Lock()
        self._latest: dict[str, dict] = {}
        self._streams: dict[str, engine.EngineStream | object] = {}  # or _OPENING
        self._names: dict[str, str] = {}
        self._manager: threading.Thread | None = None
        self._last_asked = 0.0
        self._started = 0.0
        self.error = ""

    def snapshot(self) -> dict:
        """The latest numbers, at once; starts the sampler if it is not running."""
        with self._lock:
            self._last_asked = time.monotonic()
            if self._manager is None or not self._manager.is_alive():
                self._started = time.monotonic()
                self._manager = threading.Thread(target=self._manage, name="stats-sampler", daemon=True)
                self._manager.start()
            containers = {cid: dict(numbers) for cid, numbers in self._latest.items()}
            return {
                "containers": containers,
                "running": len(self._streams),
                "warming": time.monotonic() - self._started < 2.5,
                "error": self.error,
            }

    def _manage(self) -> None:
        try:
            while time.monotonic() - self._last_asked < self.idle:
                try:
                    running = {c.id: c.name for c in engine.running_containers()}
                    self.error = ""
                except engine.EngineError as e:
                    self.error = str(e)
                    running = {}
                self._follow(running)
                time.sleep(self.refresh)
        finally:
            self._follow({})

    def _follow(self, running: dict[str, str]) -> None:
        """Open streams for containers that started, close those of containers that stopped.

        Each stream is opened in its own thread: one container whose stats do not answer (stopping,
        or stuck in the engine) must not hold up the numbers of all the others."""
        with self._lock:
            self._names.update(running)
            gone = [cid for cid in self._streams if cid not in running]
            new = [cid for cid in running if cid not in self._streams]
            closing = [self._streams.pop(cid) for cid in gone]
            for cid in gone:
                self._latest.pop(cid, None)
                self._names.pop(cid, None)
            for cid in new:
                self._streams[cid] = _OPENING
        for stream in closing:
            if stream is not _OPENING:
                stream.close()
        for cid in new:
            threading.Thread(target=self._open_and_read, args=(cid,), name="stats-stream", daemon=True).start()

    def _open_and_read(self, cid: str) -> None:
        try:
            stream = engine.stats_stream(cid)
        except engine.EngineError as e:
            log.info("no stats for %s: %s", cid[:12], e)
            with self._lock:
                if self._streams.get(cid) is _OPENING:
                    del self._streams[cid]  # tried again at the next refresh
            return
        with self._lock:
            wanted = self._streams.get(cid) is _OPENING
            if wanted:
                self._streams[cid] = stream
        if wanted:
            self._read(cid, stream)
        else:
            stream.close()  # the container stopped (or the sampler did) while the stream opened

    def _read(self, cid: str, stream: engine.EngineStream) -> None:
        try:
            for sample in stream:
                if not stats.is_running_sample(sample):
                    with self._lock:
                        self._latest.pop(cid, None)
                    continue
                usage = stats.usage(sample)
                numbers = {
                    "name": self._names.get(cid, ""),
                    "cpu_percent": usage.cpu_percent,
                    "mem_usage": usage.mem_usage,
                    "mem_limit": usage.mem_limit,
                    "mem_percent": usage.mem_percent,
                    "text": stats.format_usage(usage),
                }
                with self._lock:
                    if self._streams.get(cid) is stream:
                        self._latest[cid] = numbers
        finally:
            stream.close()
            with self._lock:
                if self._streams.get(cid) is stream:
                    del self._streams[cid]
                    self._latest.pop(cid, None)


default = Sampler()
