"""The run form: `docker run` / `docker create` with port bindings, its live preview, and the pull first."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from containers import audit, engine
from containers.forms import RunRequest, fill_rows
from containers.links import host_redirect
from containers.roles import role_required
from containers.streaming import ndjson_response, pull_progress
from containers.views.containers import port_links


def _page(request: HttpRequest, run: RunRequest, status: int = 200) -> HttpResponse:
    context = {"run": run, "images": request.engine.local_image_tags(), "preview": _preview_context(run)}
    return render(request, "run/new.html", context, status=status)


def _preview_context(run: RunRequest) -> dict:
    if not run.form.is_bound:
        return {"cli": "", "errors": []}
    spec = run.spec()
    return {"cli": spec.cli() if spec else "", "errors": [] if spec else run.errors}


@role_required("admin")
def new_container(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: validate everything, pull first if needed, then create (and start)."""
    if request.method != "POST":
        initial = {"image": request.GET.get("image", "")}
        return _page(request, RunRequest(initial=initial))
    run = RunRequest(request.POST)
    if request.POST.get("edit"):
        return _page(request, run)  # back from the pull page, with everything as it was
    try:
        spec = run.spec(request.engine)
    except engine.EngineUnavailable:
        raise
    except engine.EngineError as e:
        run.form.add_error(None, _("The engine could not check the form: %(error)s") % {"error": e})
        spec = None
    if spec is None:
        return _page(request, run)
    if not request.engine.image_exists(spec.image) and not request.POST.get("pulled"):
        # The image comes first, with progress; the page then submits the same form again.
        return render(request, "run/pull.html", {"spec": spec, "data": request.POST.lists()})
    action = "container.run" if spec.start else "container.create"
    try:
        # on record before the engine is asked: a crash in between leaves an "in progress" entry
        with audit.attempt(request, action, target_name=spec.name, params=spec.audit_params()) as entry:
            if spec.start:
                ref = request.engine.run_container(spec.image, **spec.engine_options())
            else:
                ref = request.engine.create_container(spec.image, **spec.engine_options())
            entry.target_id, entry.target_name = ref.id, ref.name
            entry.result = "started" if spec.start else "created"
            links = request.engine.published_ports(ref.id) if spec.start else []
            published = [f"{p.url} -> {p.container_port}/{p.protocol}" for p in links]
            entry.params = {**spec.audit_params(), "published": published}
    except engine.EngineError as e:
        run.form.add_error(None, str(e))
        return _page(request, run)
    to = port_links(request)
    shown = [(p, url) for p in links if (url := to.url(p.host_ip, p.host_port))]
    if shown:
        listed = format_html_join(
            ", ",
            '<a href="{}" target="_blank" rel="noopener">{}</a> → {}/{}',
            ((url, url, p.container_port, p.protocol) for p, url in shown),
        )
        messages.success(request, format_html(_("Started {}. Published: {}"), ref.name, listed))
    elif spec.start:
        published = ", ".join(
            f"{p.host_ip or '0.0.0.0'}:{p.host_port} → {p.container_port}/{p.protocol}" for p in links
        )
        if published:
            messages.success(
                request, _("Started %(name)s. Published: %(ports)s") % {"name": ref.name, "ports": published}
            )
        else:
            messages.success(request, _("Started %(name)s.") % {"name": ref.name})
    else:
        messages.success(request, _("Created %(name)s (not started).") % {"name": ref.name})
    if spec.start and not spec.detach and spec.interactive and spec.tty:
        # `docker run -i -t` without -d: the CLI stays attached to the container, so does the panel
        return host_redirect(request, "containers:attach", ref.name)
    return host_redirect(request, "containers:detail", ref.name)


@require_POST
@role_required("admin")
def preview(request: HttpRequest) -> HttpResponse:
    """The command the form would run, rendered by the same code that runs it (htmx fragment)."""
    return render(request, "run/_preview.html", {"preview": _preview_context(RunRequest(request.POST))})


@require_POST
@role_required("admin")
def fill_ports(request: HttpRequest) -> HttpResponse:
    """Move the -p text into port rows (htmx fragment of the ports section)."""
    data, error = fill_rows(request.POST)
    run = RunRequest(data)
    return render(request, "run/_ports.html", {"run": run, "publish_error": error})


@require_POST
@role_required("admin")
def pull(request: HttpRequest) -> HttpResponse:
    """`docker pull IMAGE` for the run form, as an NDJSON progress stream."""
    text = request.POST.get("image", "")

    async def events():
        try:
            ref = engine.parse_image_reference(text)
        except ValueError as e:
            yield {"type": "error", "message": str(e)}
            return
        try:
            async for event in pull_progress(request, ref):
                yield event
        except (engine.EngineError, audit.AuditUnavailable) as e:
            yield {"type": "error", "message": str(e)}
            return
        yield {"type": "done", "image": str(ref)}

    return ndjson_response(request.engine, events())
