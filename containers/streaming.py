"""Long operations (pull, deploy) stream progress to the browser as NDJSON over a POST response.

Under ASGI, Django consumes a *sync* iterator whole before sending it, so each blocking step is run
in a thread and the response body is an async generator: the browser sees every event as it happens.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse

from containers import audit, engine

_DONE = object()


async def iterate_in_thread(make: Callable[[], Iterator]) -> AsyncIterator:
    """Run a blocking iterator in a worker thread, yielding its items to async code."""
    iterator = await asyncio.to_thread(make)
    while True:
        item = await asyncio.to_thread(next, iterator, _DONE)
        if item is _DONE:
            return
        yield item


def ndjson_response(events: AsyncIterator[dict]) -> StreamingHttpResponse:
    """One JSON object per line; the last line is {"type": "done", ...} or {"type": "error", ...}."""

    async def body():
        async for event in events:
            yield json.dumps(event) + "\n"

    response = StreamingHttpResponse(body(), content_type="application/x-ndjson")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def pull_progress(request, ref: engine.ImageReference) -> AsyncIterator[dict]:
    """`docker pull` as progress events, with its audit entry written either way.

    An EngineError goes on to the caller, which words the closing event for its page.
    """
    record = sync_to_async(audit.record)
    try:
        async for event in iterate_in_thread(lambda: engine.pull(ref)):
            yield {"type": "progress", **event}
    except engine.EngineError as e:
        await record(request, "image.pull", target_name=str(ref), ok=False, result=str(e))
        raise
    await record(request, "image.pull", target_name=str(ref), result=f"docker pull {ref}")
