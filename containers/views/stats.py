"""Container stats (`docker stats`): one container's live panel, and all running containers' CPU and
memory for the list page from the background sampler."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from containers import sampler
from containers.access import get_container_or_404
from containers.roles import role_required

# A page asks for the rows it has on screen: far fewer than this, even on a tall screen.
MAX_IDS = 200
CONTAINER_ID = re.compile(r"[0-9a-f]{12,64}")


@require_GET
@role_required("viewer")
def stats_page(request: HttpRequest, ref: str) -> HttpResponse:
    """The full page, or with ?embed=1 (or from htmx) just the panel to put into another page."""
    container = get_container_or_404(request.engine, ref)
    embed = request.GET.get("embed") == "1" or bool(request.headers.get("HX-Request"))
    template = "stats/_panel.html" if embed else "stats/page.html"
    info = container.info or request.engine.inspect_container(container.id)
    # a stopped container has no usage: no "connecting…" charts that never fill
    running = bool((info.get("State") or {}).get("Running"))
    return render(request, template, {"container": container, "running": running})


@require_GET
@role_required("viewer")
@never_cache
def stats_all(request: HttpRequest) -> JsonResponse:
    """{"containers": {id: {"name", "cpu_percent", "mem_usage", "mem_limit", "mem_percent", "text"}}, ...}
    for the running containers of ?ids=ID,ID,... (12 to 64 hex digits each; without ids: all running
    ones, within the sampler's bound); from the sampler's cache, so it never waits for the engine."""
    ids = None
    if "ids" in request.GET:
        ids = [i for i in request.GET["ids"].split(",") if i]
        if len(ids) > MAX_IDS:
            return JsonResponse(
                {"error": f"ids: at most {MAX_IDS} container IDs at a time, got {len(ids)}"}, status=400
            )
        bad = next((i for i in ids if not CONTAINER_ID.fullmatch(i)), None)
        if bad is not None:
            return JsonResponse(
                {"error": f"ids: {bad[:80]!r} is not a container ID (12 to 64 lowercase hex digits)"}, status=400
            )
    return JsonResponse(sampler.for_engine(request.engine).snapshot(ids))
