"""Streamed (NDJSON) answers. Blocking engine calls leave the event loop one way: the Engine's own
bounded pools (Engine.short_call, long_call and iterate_in_thread; see containers.engine.connection).

Under ASGI, Django consumes a *sync* iterator whole before sending it, so each blocking step runs
in a thread and the response body is an async generator: the browser sees every event as it happens.
Once a streamed response has started nothing may raise out of it (daphne would be left with a
request that never ends): every failure becomes the closing {"type": "error"} event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse

from containers import audit
from containers.engine import Engine, ImageReference

log = logging.getLogger(__name__)


def ndjson_response(engine: Engine, events: AsyncIterator[dict]) -> StreamingHttpResponse:
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


async def pull_progress(request, ref: ImageReference) -> AsyncIterator[dict]:
    """`docker pull` as progress events, its audit entry written before and completed after.

    An EngineError (or AuditUnavailable) goes on to the caller, which words the closing event.
    """
    engine = request.engine
    started = await sync_to_async(audit.begin)(request, "image.pull", target_name=str(ref))
    try:
        async for event in engine.iterate_in_thread(lambda: engine.pull(ref)):
            yield {"type": "progress", **event}
    except Exception as e:
        error = engine.translate(e)
        await sync_to_async(audit.finish)(started, ok=False, result=str(error))
        raise error from e
    await sync_to_async(audit.finish)(started, ok=True, result=f"docker pull {ref}")
