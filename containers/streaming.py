"""The one way off the event loop for blocking engine calls, and streamed (NDJSON) answers.

Two bounded thread pools, apart so that stalled long work cannot starve pages and handshakes:
short_call() for quick calls (inspect, resolve, open a stream; each bounded by
DOCKER_PAGE_TIMEOUT), long_call() and iterate_in_thread() for pulls, deploys and downloads
(DOCKER_LONG_WORKERS of them at once; more wait their turn). Neither is asyncio's default pool.

Under ASGI, Django consumes a *sync* iterator whole before sending it, so each blocking step runs
in a thread and the response body is an async generator: the browser sees every event as it happens.
Once a streamed response has started nothing may raise out of it (daphne would be left with a
request that never ends): every failure becomes the closing {"type": "error"} event.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import StreamingHttpResponse

from containers import audit, engine

log = logging.getLogger(__name__)
_DONE = object()
_lock = threading.Lock()
_pools: dict[str, ThreadPoolExecutor] = {}


def _pool(kind: str) -> ThreadPoolExecutor:
    """The kind's executor, made on first use (never at import time) with its configured size."""
    with _lock:
        if kind not in _pools:
            size = settings.DOCKER_SHORT_WORKERS if kind == "short" else settings.DOCKER_LONG_WORKERS
            _pools[kind] = ThreadPoolExecutor(size, thread_name_prefix=f"engine-{kind}")
        return _pools[kind]


async def _call(kind: str, fn: Callable, *args, **kwargs):
    context = contextvars.copy_context()  # as asyncio.to_thread does
    call = functools.partial(context.run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool(kind), call)


async def short_call(fn: Callable, *args, **kwargs):
    """Run a quick blocking call (an engine call bounded by DOCKER_PAGE_TIMEOUT) off the event loop."""
    return await _call("short", fn, *args, **kwargs)


async def long_call(fn: Callable, *args, **kwargs):
    """Run a long blocking call (pull, create, start, exec) on the long pool."""
    return await _call("long", fn, *args, **kwargs)


async def iterate_in_thread(make: Callable[[], Iterator]) -> AsyncIterator:
    """Run a blocking iterator on the long pool, yielding its items to async code."""
    iterator = await long_call(make)
    while True:
        item = await long_call(next, iterator, _DONE)
        if item is _DONE:
            return
        yield item


def ndjson_response(events: AsyncIterator[dict]) -> StreamingHttpResponse:
    """One JSON object per line; the last line is {"type": "done", ...} or {"type": "error", ...}."""

    async def body():
        try:
            async for event in events:
                yield json.dumps(event) + "\n"
        except Exception as e:  # the response has started: end it with an error event, never raise
            log.exception("streamed response failed")
            yield json.dumps({"type": "error", "message": str(engine.translate(e))}) + "\n"

    response = StreamingHttpResponse(body(), content_type="application/x-ndjson")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def pull_progress(request, ref: engine.ImageReference) -> AsyncIterator[dict]:
    """`docker pull` as progress events, its audit entry written before and completed after.

    An EngineError (or AuditUnavailable) goes on to the caller, which words the closing event.
    """
    started = await sync_to_async(audit.begin)(request, "image.pull", target_name=str(ref))
    try:
        async for event in iterate_in_thread(lambda: engine.pull(ref)):
            yield {"type": "progress", **event}
    except Exception as e:
        error = engine.translate(e)
        await sync_to_async(audit.finish)(started, ok=False, result=str(error))
        raise error from e
    await sync_to_async(audit.finish)(started, ok=True, result=f"docker pull {ref}")
