"""Images: `docker images`, pull with live progress, `docker history`, rmi, tag and prune of dangling images."""

from __future__ import annotations

import json
import time

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from containers import audit, cli, disclosure, engine
from containers.links import host_redirect, host_url
from containers.roles import role_required
from containers.streaming import ndjson_response, pull_progress
from containers.views.containers import engine_errors, is_htmx

SORT_KEYS = {
    "repository": lambda r: (r["repository"], r["tag"]),
    "tag": lambda r: r["tag"],
    "id": lambda r: r["id"],
    "created": lambda r: r["created"],
    "size": lambda r: r["size"],
}


def _image_or_404(eng: engine.Engine, ref: str) -> dict:
    try:
        return eng.inspect_image(ref)
    except engine.NotFound as e:
        raise Http404(str(e))


@role_required("viewer")
@engine_errors("dashboard")
def image_list(request: HttpRequest) -> HttpResponse:
    """`docker images`: one row per repository:tag; dangling (<none>) images only when asked."""
    q = request.GET
    show_dangling = q.get("dangling") in ("1", "on", "true")
    needle = q.get("q", "").strip().lower()
    now = time.time()
    table = []
    dangling = 0
    images = request.engine.list_images()
    for image in images:
        if image.dangling:
            dangling += 1
            if not show_dangling:
                continue
        for repository, tag in cli.image_rows({"RepoTags": image.repo_tags, "RepoDigests": image.repo_digests}):
            row = {
                "repository": repository,
                "tag": tag,
                "id": cli.short_id(image.id),
                "full_id": image.id,
                "created": image.created,
                "created_ago": cli.created(image.created, now),
                "created_iso": cli.iso(image.created),
                "size": image.size,
                "size_text": cli.size(image.size),
                "dangling": image.dangling,
                # What `docker rmi` should name: the tag, or the ID for an untagged image.
                "ref": f"{repository}:{tag}" if tag != "<none>" else cli.short_id(image.id),
            }
            if needle and needle not in f"{repository}:{tag}".lower() and not row["id"].startswith(needle):
                continue
            table.append(row)
    sort = q.get("sort", "created")
    if sort not in SORT_KEYS:
        sort = "created"
    descending = q.get("dir", "desc" if sort in ("created", "size") else "asc") == "desc"
    table.sort(key=SORT_KEYS[sort], reverse=descending)
    context = {
        "rows": table,
        "show_dangling": show_dangling,
        "dangling": dangling,
        # the same count as the dashboard's: images, not rows (an image with 3 tags is 3 rows)
        "images_total": len(images),
        "q": q.get("q", ""),
        "sort": sort,
        "descending": descending,
        "refresh_url": request.get_full_path(),
        "htmx": is_htmx(request),
        "cli": "docker images" + ("" if show_dangling else " --filter dangling=false"),
        "columns": [
            ("repository", "REPOSITORY"),
            ("tag", "TAG"),
            ("id", "IMAGE ID"),
            ("created", "CREATED"),
            ("size", "SIZE"),
        ],
    }
    return render(request, "images/_partial.html" if is_htmx(request) else "images/list.html", context)


@require_POST
@role_required("admin")
def image_pull(request: HttpRequest) -> HttpResponse:
    """`docker pull name[:tag]`, streamed as NDJSON (Accept: application/x-ndjson, as progress.js asks):
    one event per layer step, then done or error. A bad reference is answered 400 (plain text) before
    any request reaches the engine. A plain form post pulls, then redirects with a message.
    """
    text = request.POST.get("reference", "")
    streaming = "application/x-ndjson" in request.headers.get("Accept", "")
    try:
        ref = engine.parse_image_reference(text)
    except ValueError as e:
        if not streaming:
            messages.error(request, _("Not pulled: %(error)s") % {"error": e})
            return host_redirect(request, "images:list")
        return HttpResponse(str(e), status=400, content_type="text/plain; charset=utf-8")
    command = f"docker pull {ref}"
    if not streaming:
        return _pull_and_redirect(request, ref, command)

    async def events():
        yield {"type": "start", "command": command}
        try:
            async for event in pull_progress(request, ref):
                yield event
        except (engine.EngineError, audit.AuditUnavailable) as e:
            yield {"type": "error", "message": _("%(command)s failed: %(error)s") % {"command": command, "error": e}}
            return
        yield {
            "type": "done",
            "message": _("Pulled %(image)s: %(command)s") % {"image": ref, "command": command},
            "url": host_url(request, "images:detail", str(ref)),
        }

    return ndjson_response(request.engine, events())


def _pull_and_redirect(request: HttpRequest, ref: engine.ImageReference, command: str) -> HttpResponse:
    """Without JavaScript (a plain form post): pull, then a message; the same audit entry."""
    try:
        with audit.attempt(request, "image.pull", target_name=str(ref)) as entry:
            for _event in request.engine.pull(ref):
                pass
            entry.result = command
    except engine.EngineError as e:
        messages.error(request, _("%(command)s failed: %(error)s") % {"command": command, "error": e})
        return host_redirect(request, "images:list")
    messages.success(request, _("Pulled %(image)s: %(command)s") % {"image": ref, "command": command})
    return host_redirect(request, "images:detail", str(ref))


@role_required("viewer")
@engine_errors("images:list")
def image_detail(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker image inspect` + `docker history` + the containers created from it."""
    info = _image_or_404(request.engine, ref)
    users = request.engine.containers_using_image(info["Id"])
    context = {
        "ref": ref,
        "image": info,
        "short_id": cli.short_id(info["Id"]),
        "tags": info.get("RepoTags") or [],
        "created_ago": cli.created(info.get("Created")),
        "created_iso": cli.iso(info.get("Created")),
        "size_text": cli.size(info.get("Size")),
        "users": [
            {"name": u.name, "short_id": u.id[:12], "status": u.status, "state": u.state, "image": u.image}
            for u in users
        ],
        "refresh_url": request.path + "?section=containers",
    }
    if is_htmx(request) and request.GET.get("section") == "containers":
        return render(request, "images/_containers.html", context)
    now = time.time()
    layers = []
    for layer in request.engine.image_history(info["Id"]):
        layers.append(
            {
                "id": cli.short_id(layer.get("Id", "")) if layer.get("Id") not in ("<missing>", "") else "<missing>",
                "created_ago": cli.created(layer.get("Created"), now),
                "created_iso": cli.iso(layer.get("Created")),
                "created_by": cli.created_by(layer.get("CreatedBy", "")),
                "created_by_full": cli.created_by(layer.get("CreatedBy", ""), trunc=False),
                "size": cli.size(layer.get("Size")),
                "empty": not layer.get("Size"),
                "comment": layer.get("Comment", ""),
            }
        )
    context["layers"] = layers
    context["fs_layers"] = ((info.get("RootFS") or {}).get("Layers")) or []
    context["inspect_json"] = json.dumps(disclosure.masked(info), indent=2)
    return render(request, "images/detail.html", context)


@require_POST
@role_required("operator")
@engine_errors("images:list")
def image_env(request: HttpRequest, ref: str) -> HttpResponse:
    """The image's environment in clear (masked everywhere else), recorded as a disclosure."""
    info = _image_or_404(request.engine, ref)
    pairs = disclosure.environment(info)
    short = cli.short_id(info["Id"])
    audit.record(
        request,
        "image.env_revealed",
        target_id=info["Id"],
        target_name=ref,
        params={"variables": [k for k, _ in pairs]},
        result=f"docker image inspect --format '{{{{json .Config.Env}}}}' {ref}",
    )
    return render(request, "env_reveal.html", {"kind": "Image", "name": ref, "short_id": short, "pairs": pairs})


@require_POST
@role_required("admin")
@engine_errors("images:list")
def image_remove(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker rmi [-f]`: a confirmation naming the containers that use it, then the removal."""
    info = _image_or_404(request.engine, ref)
    force = request.POST.get("force") in ("1", "on", "true")
    command = f"docker rmi{' -f' if force else ''} {ref}"
    if request.POST.get("confirm") != "yes":
        users = request.engine.containers_using_image(info["Id"])
        return render(
            request,
            "images/confirm_remove.html",
            {"ref": ref, "short_id": cli.short_id(info["Id"]), "tags": info.get("RepoTags") or [], "users": users},
        )
    try:
        with audit.attempt(
            request, "image.remove", target_id=info["Id"], target_name=ref, params={"force": force}
        ) as entry:
            lines = request.engine.remove_image(ref, force=force)
            entry.result = "\n".join([command, *lines])
    except engine.EngineUnavailable:
        raise
    except engine.EngineError as e:
        messages.error(request, _("%(command)s failed: %(error)s") % {"command": command, "error": e})
        return host_redirect(request, "images:detail", cli.short_id(info["Id"]))
    removed = _("Removed %(image)s: %(command)s") % {"image": ref, "command": command}
    messages.success(request, "\n".join([removed, *lines]))
    return host_redirect(request, "images:list")


@require_POST
@role_required("admin")
@engine_errors("images:list")
def image_tag(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker tag SOURCE TARGET[:TAG]`."""
    info = _image_or_404(request.engine, ref)
    text = request.POST.get("target", "")
    back = host_url(request, "images:detail", cli.short_id(info["Id"]))
    try:
        target = engine.parse_image_reference(text)
    except ValueError as e:
        messages.error(request, _("Tag not added: %(error)s") % {"error": e})
        return redirect(back)
    command = f"docker tag {ref} {target}"
    try:
        with audit.attempt(
            request, "image.tag", target_id=info["Id"], target_name=ref, params={"target": str(target)}
        ) as entry:
            request.engine.tag_image(info["Id"], target)
            entry.result = command
    except engine.EngineUnavailable:
        raise
    except engine.EngineError as e:
        messages.error(request, _("%(command)s failed: %(error)s") % {"command": command, "error": e})
        return redirect(back)
    messages.success(
        request, _("Tagged %(image)s as %(target)s: %(command)s") % {"image": ref, "target": target, "command": command}
    )
    return redirect(back)


@require_POST
@role_required("admin")
@engine_errors("images:list")
def image_prune(request: HttpRequest) -> HttpResponse:
    """`docker image prune`: a confirmation listing the dangling images, then removes exactly those."""
    if request.POST.get("confirm") != "yes":
        now = time.time()
        rows = [
            {
                "id": cli.short_id(i.id),
                "full_id": i.id,
                "created_ago": cli.created(i.created, now),
                "size": cli.size(i.size),
                "digests": i.repo_digests,
            }
            for i in request.engine.list_images()
            if i.dangling
        ]
        return render(request, "images/confirm_prune.html", {"rows": rows})
    results = []
    for image_id in request.POST.getlist("ids"):
        short = cli.short_id(image_id)
        command = f"docker rmi {short}"
        try:
            with audit.attempt(request, "image.prune", target_id=image_id, target_name=short) as entry:
                # As `docker image prune`: only an image that is dangling now, checked here, not by the form.
                request.engine.ensure_dangling(image_id)
                lines = request.engine.remove_image(image_id)
                entry.result = command
        except engine.EngineError as e:
            results.append({"name": short, "id": image_id, "ok": False, "message": str(e), "command": command})
            continue
        results.append({"name": short, "id": image_id, "ok": True, "message": "; ".join(lines), "command": command})
    failed = [r for r in results if not r["ok"]]
    succeeded = [r for r in results if r["ok"]]
    command = "docker image prune"
    counts = {"done": len(succeeded), "total": len(results), "failed": len(failed), "command": command}
    if failed:
        messages.warning(
            request,
            _("Prune: %(done)d of %(total)d dangling images removed, %(failed)d failed (see below). %(command)s")
            % counts,
        )
    else:
        messages.success(request, _("Prune: %(done)d of %(total)d dangling images removed. %(command)s") % counts)
    return render(
        request,
        "containers/bulk_result.html",
        {
            "results": results,
            "title": "Prune dangling images",
            "command": command,
            "failed": failed,
            "succeeded": succeeded,
            "back": host_url(request, "images:list") + "?dangling=1",
        },
    )
