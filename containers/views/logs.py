"""Container logs: the live viewer page and the whole log as a download (`docker logs`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from containers import audit, engine, logs
from containers.access import get_container_or_404
from containers.links import host_redirect
from containers.roles import role_required

DOWNLOAD_CHUNK = 64 * 1024


@require_GET
@role_required("viewer")
def logs_page(request: HttpRequest, ref: str) -> HttpResponse:
    container = get_container_or_404(request.engine, ref)
    options = {
        "tail": request.GET.get("tail", str(logs.DEFAULT_TAIL)),
        "since": request.GET.get("since", ""),
        "timestamps": request.GET.get("timestamps") in ("1", "on"),
    }
    return render(request, "logs/page.html", {"container": container, "options": options})


def _chunks(stream: engine.EngineStream) -> Iterator[bytes]:
    """The log's bytes in ~64 KiB pieces (one thread hop per piece, not per line)."""
    pending: list[bytes] = []
    size = 0
    try:
        for _stream, data in stream:
            pending.append(data)
            size += len(data)
            if size >= DOWNLOAD_CHUNK:
                yield b"".join(pending)
                pending, size = [], 0
    finally:  # what was read before the engine went away is still sent
        if pending:
            yield b"".join(pending)


def _record_cut_short(request: HttpRequest, container: engine.ContainerRef, error: engine.EngineError) -> None:
    try:
        audit.record(
            request, "logs.download", target_id=container.id, target_name=container.name, ok=False, result=str(error)
        )
    except audit.AuditUnavailable:
        pass  # logged by audit.record; the download itself already says what happened


@require_GET
@role_required("viewer")
def logs_download(request: HttpRequest, ref: str) -> HttpResponse:
    """The whole log (or since/timestamps as asked) as `docker logs` prints it, streamed as it is read."""
    container = get_container_or_404(request.engine, ref)
    try:
        since = logs.parse_since(request.GET.get("since"), time.time())
        tail = logs.parse_tail(request.GET.get("tail") or "all")
    except ValueError as e:
        return HttpResponse(str(e), status=400, content_type="text/plain; charset=utf-8")
    timestamps = request.GET.get("timestamps") in ("1", "on")
    try:
        stream = request.engine.logs(container.id, tail=tail, since=since, timestamps=timestamps, tty=container.tty)
    except engine.EngineError as e:
        messages.error(
            request, _("The logs of %(name)s cannot be read: %(error)s") % {"name": container.name, "error": e}
        )
        return host_redirect(request, "containers:logs", container.name)

    async def body():
        try:
            async for chunk in request.engine.iterate_in_thread(lambda: _chunks(stream)):
                yield chunk
        except engine.EngineError as e:
            # the response has started: the file's last line says it is cut short, and why
            yield f"\n[DockerPanel: this download is incomplete: {e}]\n".encode()
            await sync_to_async(_record_cut_short)(request, container, e)
        finally:
            stream.close()

    name = f"{container.name}-{timezone.now():%Y%m%dT%H%M%SZ}.log"
    response = StreamingHttpResponse(body(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-cache"
    return response
