"""Long operations (pull, deploy) stream progress to the browser as NDJSON over a POST response.

Under ASGI, Django consumes a *sync* iterator whole before sending it, so each blocking step is run
in a thread and the response body is an async generator: the browser sees every event as it happens.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator

from django.http import StreamingHttpResponse

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
