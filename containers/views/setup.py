"""First run, health check and the dashboard."""

import dataclasses
import threading
import weakref
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from containers import audit, engine
from containers.roles import role_required


@login_not_required
@never_cache
def setup(request: HttpRequest) -> HttpResponse:
    """Create the first administrator; gone (404) once any user exists."""
    if get_user_model().objects.exists():
        raise Http404("Setup is done")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            # Concurrent first-admin posts queue here (a row lock; SQLite's BEGIN IMMEDIATE does the
            # same), so the one that comes second sees the first user and makes none.
            Group.objects.select_for_update().get(name="admin")
            if get_user_model().objects.exists():
                raise Http404("Setup is done")
            user = form.save(commit=False)
            user.is_staff = True
            user.is_superuser = True
            user.save()
            user.groups.add(Group.objects.get(name="admin"))
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        audit.record(request, "user.setup", target_name=user.username, params={"role": "admin"})
        return redirect("dashboard")
    return render(request, "setup.html", {"form": form})


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """ok or not for anyone (a load balancer); the engine's version and address and the errors only
    for logged-in users, since they name hosts, users and ports."""
    body: dict = {}
    healthy = True
    try:
        audit.database_writable()  # a database that only reads cannot keep the audit log
        body["database"] = "ok"
    except Exception as e:
        body["database"] = f"error: {e}"
        healthy = False
    try:
        body["engine"] = {"ok": True, "version": request.engine.ping(), "address": request.engine.address}
    except engine.EngineError as e:
        body["engine"] = {"ok": False, "error": str(e), "address": request.engine.address}
        healthy = False
    status = {"status": "ok" if healthy else "error"}
    if not request.user.is_authenticated:
        body = {}
    return JsonResponse({**status, **body}, status=200 if healthy else 503)


@dataclasses.dataclass(frozen=True)
class HostCounts:
    """One host's line on the dashboard: its counters, or why there are none."""

    name: str
    address: str
    info: engine.EngineInfo | None = None
    error: engine.EngineError | None = None
    is_page_host: bool = False


# A host's dashboard read still under way (a slow host), shared by the next loads instead of
# queued behind it again; a finished one is never reused, so a host that comes back shows at once.
_pending: weakref.WeakKeyDictionary[engine.Engine, Future] = weakref.WeakKeyDictionary()
_pending_lock = threading.Lock()


def _counts(eng: engine.Engine) -> engine.EngineInfo:
    """`docker info`'s counters, with the images counted as the images page lists them."""
    info = eng.info()
    # `docker info` also counts intermediate images that `docker images` does not list: count what
    # the images page lists, so both pages say the same number
    try:
        return dataclasses.replace(info, images=len(eng.list_images()))
    except engine.EngineUnavailable:
        raise
    except engine.EngineError:
        return info  # `docker info`'s own count, then: the counters still show


def _read(eng: engine.Engine) -> Future:
    """The host's counters, read on its own short pool (a hung host fills only its own)."""
    with _pending_lock:
        running = _pending.get(eng)
        if running is None or running.done():
            running = _pending[eng] = eng.pool("short").submit(_counts, eng)
        return running


def all_hosts(page_engine: engine.Engine) -> list[HostCounts]:
    """Every host's counters, asked at the same time; a host without an answer within
    DOCKER_PAGE_TIMEOUT is shown as not answering and holds up no one."""
    from hosts.models import Host

    engines = []
    for host in Host.objects.listed():
        try:
            engines.append(engine.engine_for(host.name))
        except engine.UnknownHost:
            continue  # removed meanwhile
    timeout = settings.DOCKER_PAGE_TIMEOUT
    futures = [_read(e) for e in engines]
    wait_futures(futures, timeout=timeout)
    rows = []
    for eng, future in zip(engines, futures, strict=True):
        row = HostCounts(eng.name, eng.address, is_page_host=eng.name == page_engine.name)
        if not future.done():
            rows.append(dataclasses.replace(row, error=engine.EngineTimeout(eng.address, timeout)))
            continue
        if future.cancelled():  # the host was edited or removed meanwhile (its Engine closed)
            error = engine.EngineUnavailable(eng.address, "its settings changed while it was asked; reload")
            rows.append(dataclasses.replace(row, error=error))
            continue
        try:
            rows.append(dataclasses.replace(row, info=future.result()))
        except engine.EngineError as e:
            rows.append(dataclasses.replace(row, error=e))
        except Exception as e:  # a bug in one host's read must not take the dashboard down
            rows.append(dataclasses.replace(row, error=eng.translate(e)))
    return rows


@role_required("viewer")
def dashboard(request: HttpRequest) -> HttpResponse:
    """Every host's counters at once (the page's own host first, as before); on an htmx request
    (after a live "engine-changed") just the page host's."""
    if request.headers.get("HX-Request"):
        info = _counts(request.engine)
        return render(request, "dashboard/_counts.html", {"info": info, "address": request.engine.address})
    hosts = all_hosts(request.engine)
    own = next((h for h in hosts if h.is_page_host), None)
    if own is None:  # not among the listed hosts (a DOCKER_HOST default without a row)
        own = HostCounts(request.engine.name, request.engine.address, is_page_host=True)
        try:
            own = dataclasses.replace(own, info=_counts(request.engine))
        except engine.EngineError as e:
            own = dataclasses.replace(own, error=e)
    context = {"info": own.info, "error": own.error, "address": own.address, "hosts": hosts}
    # The page host down: the engine-down notice (503, as before), and the other hosts still listed
    unavailable = isinstance(own.error, engine.EngineUnavailable)
    if own.error is not None and not unavailable:
        raise own.error
    return render(request, "dashboard.html", context, status=503 if unavailable else 200)
