"""Container stats (`docker stats`): one container's live panel, and all running containers' CPU and
memory for the list page from the background sampler."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from containers import sampler
from containers.access import get_container_or_404
from containers.roles import role_required


@require_GET
@role_required("viewer")
def stats_page(request: HttpRequest, ref: str) -> HttpResponse:
    """The full page, or with ?embed=1 (or from htmx) just the panel to put into another page."""
    container = get_container_or_404(ref)
    embed = request.GET.get("embed") == "1" or bool(request.headers.get("HX-Request"))
    template = "stats/_panel.html" if embed else "stats/page.html"
    return render(request, template, {"container": container})


@require_GET
@role_required("viewer")
@never_cache
def stats_all(request: HttpRequest) -> JsonResponse:
    """{"containers": {id: {"name", "cpu_percent", "mem_usage", "mem_limit", "mem_percent", "text"}}}
    for running containers; answered from the sampler's cache, so it never waits for the engine."""
    return JsonResponse(sampler.default.snapshot())
