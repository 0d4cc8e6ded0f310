"""CPU and memory of the running containers a list page shows, kept fresh in the background.

The engine needs about a second to answer any stats request (it publishes samples once a second),
so one call per container per page load would take seconds. Instead the sampler holds a stats
stream per container that some page asked about recently, each read by its own thread, and the
pages read the latest numbers from memory.

Protocol: a page asks `snapshot(ids)` every few seconds with the IDs (or unique prefixes) of the
rows it has on screen. A container asked about within LINGER seconds is wanted; a stream whose
container is no longer wanted (or no longer running) is closed. At most `max_streams` streams
(STATS_MAX_STREAMS) exist at once, opening ones included, so threads and engine connections are
bounded by the setting, not by the number of containers: a wanted container beyond the bound is
reported as not sampled until a slot frees (streams already open keep theirs, so two pages cannot
make the sampler thrash). `snapshot(None)` asks for every running container, within the same bound.
The sampler starts on the first request and stops (closing every stream) after IDLE seconds
without one. Each Docker host has its own sampler (for_engine), so the bound is per host.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from containers import stats
from containers.engine import Engine, EngineError, EngineStream, default_engine

log = logging.getLogger(__name__)

# a stream being opened, in _streams until it is open
_OPENING = object()
# what snapshot(None) asks for: every running container
ALL = "*"


class Sampler:
    def __init__(
        self,
        idle: float = 60.0,
        refresh: float = 2.0,
        linger: float = 8.0,
        max_streams: int | None = None,
        engine: Engine | None = None,
    ):
        self._engine = engine
        self.idle = idle
        self.refresh = refresh
        self.linger = linger
        self._max_streams = max_streams
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._latest: dict[str, dict] = {}
        self._streams: dict[str, EngineStream | object] = {}  # or _OPENING
        self._names: dict[str, str] = {}  # running containers, id -> name, from the last listing
        self._by_short: dict[str, list[str]] = {}  # the same by short ID (12 digits), to resolve prefixes
        self._asked: dict[str, float] = {}  # ID or prefix -> when a page last asked for it
        self._skipped: set[str] = set()  # wanted, but over the bound
        self._workers = 0  # live stream threads, opening ones included
        self._manager: threading.Thread | None = None
        self._last_asked = 0.0
        self._started = 0.0
        self.error = ""

    @property
    def engine(self) -> Engine:
        return self._engine or default_engine()

    @property
    def max_streams(self) -> int:
        return self._max_streams if self._max_streams is not None else settings.STATS_MAX_STREAMS

    def snapshot(self, ids: list[str] | None = None) -> dict:
        """The latest numbers of the asked containers, at once; starts the sampler if it is not running.

        "containers" is keyed by the ID as asked (the full ID when `ids` is None); "not_sampled" lists
        asked running containers over the bound, "pending" those whose first sample is still to come.
        Asked IDs in neither are not running (or unknown)."""
        asked = [ALL] if ids is None else list(dict.fromkeys(ids))
        with self._lock:
            now = time.monotonic()
            self._last_asked = now
            fresh = any(i not in self._asked for i in asked)
            for i in asked:
                self._asked[i] = now
            if self._manager is None or not self._manager.is_alive():
                self._started = now
                self._manager = threading.Thread(target=self._manage, name="stats-sampler", daemon=True)
                self._manager.start()
            answer: dict = {"containers": {}, "not_sampled": [], "pending": []}
            for key, cid in self._resolve(asked).items():
                if cid in self._latest:
                    answer["containers"][key] = dict(self._latest[cid])
                elif cid in self._skipped:
                    answer["not_sampled"].append(key)
                else:
                    answer["pending"].append(key)
            answer.update(
                streams=len(self._streams),
                max_streams=self.max_streams,
                warming=now - self._started < 2.5,
                error=self.error,
            )
        if fresh:
            self._wake.set()  # open the new streams now, not at the next refresh
        return answer

    def streaming(self) -> set[str]:
        """Full IDs of the containers with a stream, opening ones included."""
        with self._lock:
            return set(self._streams)

    def stop(self) -> None:
        """Close every stream now (the sampler starts again with the next snapshot)."""
        with self._lock:
            self._last_asked = float("-inf")
        self._wake.set()

    def _resolve(self, asked: list[str]) -> dict[str, str]:
        """Asked ID or prefix -> the running container's full ID; unknown and ambiguous ones left out."""
        if ALL in asked:
            return {cid: cid for cid in self._names}
        found = {}
        for key in asked:
            if key in self._names:
                found[key] = key
                continue
            candidates = self._by_short.get(key[:12], []) if len(key) >= 12 else self._names
            matches = [cid for cid in candidates if cid.startswith(key)]
            if len(matches) == 1:
                found[key] = matches[0]
        return found

    def _manage(self) -> None:
        try:
            while time.monotonic() - self._last_asked < self.idle:
                try:
                    running = {c.id: c.name for c in self.engine.running_containers()}
                    self.error = ""
                except EngineError as e:
                    self.error = str(e)
                    running = {}
                self._follow(running)
                self._wake.wait(self.refresh)
                self._wake.clear()
        finally:
            with self._lock:
                self._asked.clear()
            self._follow({})

    def _follow(self, running: dict[str, str]) -> None:
        """Close the streams of containers no longer wanted, open streams for newly wanted ones.

        Each stream is opened in its own thread: one container whose stats do not answer (stopping,
        or stuck in the engine) must not hold up the numbers of all the others."""
        with self._lock:
            now = time.monotonic()
            self._names = running
            self._by_short = {}
            for cid in running:
                self._by_short.setdefault(cid[:12], []).append(cid)
            self._asked = {key: t for key, t in self._asked.items() if now - t < self.linger}
            wanted: dict[str, float] = {}
            for key, asked_at in self._asked.items():
                for cid in self._resolve([key]).values():
                    wanted[cid] = max(wanted.get(cid, 0.0), asked_at)
            gone = [cid for cid in self._streams if cid not in wanted]
            closing = [self._streams.pop(cid) for cid in gone]
            for cid in gone:
                self._latest.pop(cid, None)
            # newest asks first; a stream stuck opening still holds its thread, so it still counts
            waiting = sorted((cid for cid in wanted if cid not in self._streams), key=lambda c: (-wanted[c], c))
            free = max(0, self.max_streams - self._workers)
            new, self._skipped = waiting[:free], set(waiting[free:])
            for cid in new:
                self._streams[cid] = _OPENING
            self._workers += len(new)
        for stream in closing:
            if stream is not _OPENING:
                stream.close()
        for cid in new:
            threading.Thread(target=self._work, args=(cid,), name=f"stats-stream {cid[:12]}", daemon=True).start()

    def _work(self, cid: str) -> None:
        opened = False
        try:
            opened = self._open_and_read(cid)
        finally:
            with self._lock:
                self._workers -= 1
                waiting = bool(self._skipped)
            if opened and waiting:
                self._wake.set()  # a slot is free for a container over the bound (a failed open waits)

    def _open_and_read(self, cid: str) -> bool:
        try:
            stream = self.engine.stats_stream(cid)
        except EngineError as e:
            log.info("no stats for %s: %s", cid[:12], e)
            with self._lock:
                if self._streams.get(cid) is _OPENING:
                    del self._streams[cid]  # tried again at the next refresh
            return False
        with self._lock:
            wanted = self._streams.get(cid) is _OPENING
            if wanted:
                self._streams[cid] = stream
        if wanted:
            self._read(cid, stream)
        else:
            stream.close()  # no longer wanted (or the sampler stopped) while the stream opened
        return True

    def _read(self, cid: str, stream: EngineStream) -> None:
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


_lock = threading.Lock()
_samplers: dict[str, Sampler] = {}


def for_engine(engine: Engine) -> Sampler:
    """The sampler of one host, made on first use."""
    with _lock:
        found = _samplers.get(engine.name)
        if found is None or found.engine is not engine:
            found = _samplers[engine.name] = Sampler(engine=engine)
        return found
