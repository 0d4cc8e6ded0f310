"""/hosts/: every host's state for every user; adding, editing, testing, accepting an SSH host key,
setting the default and removing for administrators (each an audited POST)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from containers import audit
from containers.engine import EngineUnavailable
from containers.roles import role_required
from containers.views.users import errors_of
from hosts import connection
from hosts.address import parse_url
from hosts.forms import HostForm
from hosts.models import Host


def get_host_or_404(name: str) -> Host:
    return get_object_or_404(Host, name=name)


@role_required("viewer")
def host_list(request: HttpRequest) -> HttpResponse:
    hosts = list(Host.objects.listed())
    states = connection.probe_all(hosts, settings.DOCKER_PAGE_TIMEOUT)
    rows = [{"host": h, "state": s, "scheme": parse_url(h.address).scheme} for h, s in zip(hosts, states, strict=True)]
    return render(request, "hosts/list.html", {"rows": rows, "timeout": settings.DOCKER_PAGE_TIMEOUT})


@role_required("admin")
def host_add(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@role_required("admin")
def host_edit(request: HttpRequest, name: str) -> HttpResponse:
    return _edit(request, get_host_or_404(name))


def _edit(request: HttpRequest, host: Host | None) -> HttpResponse:
    action = "host.create" if host is None else "host.update"
    form = HostForm(request.POST or None, instance=host)
    if request.method == "POST":
        name = host.name if host else request.POST.get("name", "")
        if form.is_valid():
            with audit.attempt(request, action, target_name=name, host=name, params=form.changes()) as entry:
                saved = form.save()
                entry.target_id = str(saved.pk)
                entry.result = f"{saved.name}: {saved.address}"
            messages.success(request, _("Saved host %(name)s. Test its connection to check it.") % {"name": saved.name})
            return redirect("hosts:list")
        params = {"url": request.POST.get("url", "")}
        audit.record(request, action, target_name=name, host=name, params=params, ok=False, result=errors_of(form))
    status = 400 if request.method == "POST" else 200
    return render(request, "hosts/form.html", {"form": form, "host": host}, status=status)


@require_POST
@role_required("admin")
def host_test(request: HttpRequest, name: str) -> HttpResponse:
    host = get_host_or_404(name)
    with audit.attempt(request, "host.test", target_id=str(host.pk), target_name=host.name, host=host.name) as entry:
        state = connection.probe(host, settings.DOCKER_PAGE_TIMEOUT)
        entry.result = f"up: Docker Engine {state.version} (API {state.api_version})" if state.up else state.error
    if state.up:
        messages.success(
            request,
            _("%(name)s answers: Docker Engine %(version)s (API %(api)s), %(os)s.")
            % {"name": host.name, "version": state.version, "api": state.api_version, "os": state.os},
        )
    else:
        messages.error(request, _("%(name)s does not answer: %(error)s") % {"name": host.name, "error": state.error})
    if state.kind == connection.HostKeyUnknown.kind:
        return redirect("hosts:key", name=host.name)
    return redirect("hosts:list")


@role_required("admin")
def host_key(request: HttpRequest, name: str) -> HttpResponse:
    """GET: the key the SSH server offers now, with its fingerprint; POST: accept the key shown."""
    host = get_host_or_404(name)
    address = parse_url(host.address)
    if address.scheme != "ssh":
        messages.error(request, _("%(name)s is not an ssh:// host; it has no host key.") % {"name": host.name})
        return redirect("hosts:list")
    if request.method == "POST":
        return _accept_key(request, host, address)
    context = {"host": host, "accepted": _fingerprint(host.ssh_host_key)}
    try:
        context["line"], context["fingerprint"] = connection.fetch_host_key(host.address, settings.DOCKER_PAGE_TIMEOUT)
    except EngineUnavailable as e:
        context["error"] = str(e)
    return render(request, "hosts/key.html", context)


def _fingerprint(line: str) -> str:
    if not line:
        return ""
    key = connection.parse_host_key(line).key
    return f"{key.get_name()} {key.fingerprint}"


def _accept_key(request: HttpRequest, host: Host, address) -> HttpResponse:
    line = request.POST.get("line", "").strip()
    try:
        entry = connection.parse_host_key(line)
        if address.known_hosts_name not in entry.hostnames:
            raise ValueError(f"the key is for {', '.join(entry.hostnames)}, not {address.known_hosts_name}")
    except ValueError as e:
        audit.record(
            request,
            "host.key_accept",
            target_id=str(host.pk),
            target_name=host.name,
            host=host.name,
            ok=False,
            result=str(e),
        )
        messages.error(request, _("Host key not accepted: %(error)s") % {"error": e})
        return redirect("hosts:key", name=host.name)
    fingerprint = _fingerprint(line)
    params = {"fingerprint": fingerprint, "previous": _fingerprint(host.ssh_host_key)}
    with audit.attempt(
        request, "host.key_accept", target_id=str(host.pk), target_name=host.name, host=host.name, params=params
    ):
        host.ssh_host_key = line
        host.save(update_fields=["ssh_host_key", "updated"])
    messages.success(
        request, _("Accepted the SSH host key %(key)s of %(name)s.") % {"key": fingerprint, "name": host.name}
    )
    return redirect("hosts:list")


@require_POST
@role_required("admin")
def host_default(request: HttpRequest, name: str) -> HttpResponse:
    host = get_host_or_404(name)
    previous = Host.default().name
    with audit.attempt(
        request,
        "host.default",
        target_id=str(host.pk),
        target_name=host.name,
        host=host.name,
        params={"previous": previous},
    ):
        host.make_default()
    messages.success(request, _("%(name)s is now the default host.") % {"name": host.name})
    return redirect("hosts:list")


@require_POST
@role_required("admin")
def host_remove(request: HttpRequest, name: str) -> HttpResponse:
    host = get_host_or_404(name)
    if host.is_default:
        if Host.objects.count() == 1:
            why = "It is the only host; add another one first."
            message = _("%(name)s is the only host; add another one first.") % {"name": host.name}
        else:
            why = "It is the default host; make another host the default first."
            message = _("%(name)s is the default host; make another host the default first.") % {"name": host.name}
        audit.record(
            request, "host.remove", target_id=str(host.pk), target_name=host.name, host=host.name, ok=False, result=why
        )
        messages.error(request, message)
        return redirect("hosts:list")
    with audit.attempt(
        request,
        "host.remove",
        target_id=str(host.pk),
        target_name=host.name,
        host=host.name,
        params={"url": host.address},
    ):
        host.delete()
    messages.success(request, _("Removed host %(name)s.") % {"name": name})
    return redirect("hosts:list")
