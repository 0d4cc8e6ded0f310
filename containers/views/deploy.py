"""The Apache demo of the seed notes, deployed from the browser with every step streamed live.

Preset "seed": `docker run -d -i -t -p HOST:80 debian:bookworm`, then apt-get update, apt-get install -y
apache2 and service apache2 start by exec. Preset "official": `docker run -d -p HOST:80 httpd:2.4`.
A failed step leaves the container in place for inspection; the page offers to remove it.
"""

from __future__ import annotations

import shlex
import time
import urllib.error
import urllib.request
import uuid

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from containers import audit, engine, ports
from containers.access import get_container_or_404
from containers.forms import ApacheDeployForm, check_host_ports
from containers.links import host_redirect
from containers.roles import role_required
from containers.runspec import RunSpec
from containers.streaming import ndjson_response

DEPLOY_LABEL = "dockerpanel.deploy"
PRESETS = {
    "seed": {
        "title": gettext_lazy("Debian + apt-get install apache2"),
        "image": "debian:bookworm",
        "about": gettext_lazy(
            "A Debian or Ubuntu container with -p HOST:80; apache2 is installed inside it from the distribution's packages."
        ),
    },
    "official": {
        "title": gettext_lazy("Official image"),
        "image": "httpd:2.4",
        "about": gettext_lazy("The official Apache image, pulled with progress when it is not local, with -p HOST:80."),
    },
}
SEED_STEPS = [
    ("update", ["apt-get", "update"]),
    ("install", ["apt-get", "install", "-y", "apache2"]),
    ("service", ["service", "apache2", "start"]),
]
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
HTTP_WAIT = 30.0


class StepFailed(Exception):
    pass


@role_required("admin")
def apache(request: HttpRequest) -> HttpResponse:
    port = ports.free_host_port("127.0.0.1")
    forms = [
        (
            key,
            preset,
            ApacheDeployForm(
                initial={
                    "preset": key,
                    "image": preset["image"],
                    "name": f"apache-{key}-{uuid.uuid4().hex[:6]}",
                    "host_ip": "127.0.0.1",
                    "host_port": port,
                },
                auto_id=f"id_{key}_%s",
            ),
        )
        for key, preset in PRESETS.items()
    ]
    return render(request, "deploy/apache.html", {"forms": forms})


def plan(form: ApacheDeployForm) -> RunSpec:
    """The `docker run` of a preset; the seed one keeps bash alive with -i -t, as in the notes."""
    seed = form.cleaned_data["preset"] == "seed"
    return RunSpec(
        image=form.cleaned_data["image"],
        name=form.cleaned_data["name"],
        interactive=seed,
        tty=seed,
        ports=(form.binding(),),
        labels={DEPLOY_LABEL: "apache"},
    )


@require_POST
@role_required("admin")
def apache_run(request: HttpRequest) -> HttpResponse:
    """Deploy a preset as an NDJSON stream: {"type": "step"|"output"|"progress"|"done"|"error", ...}."""
    form = ApacheDeployForm(request.POST)
    return ndjson_response(request.engine, deploy_events(request, form))


def _step(key: str, status: str, title: str = "", message: str = "") -> dict:
    return {"type": "step", "step": key, "status": status, "title": title, "message": message}


async def deploy_events(request: HttpRequest, form: ApacheDeployForm):
    eng = request.engine
    current = "check"
    container: engine.ContainerRef | None = None
    spec: RunSpec | None = None
    try:  # on record before anything is asked of the engine
        started = await sync_to_async(audit.begin)(
            request, "deploy.apache", target_name=form.data.get("name", ""), params=_params(form, None)
        )
    except audit.AuditUnavailable as e:
        yield {"type": "error", "step": current, "message": str(e), "container": ""}
        return
    try:
        yield _step("check", "running", "Check the form, the name and the host port")
        if form.is_valid():
            spec = plan(form)
            await eng.short_call(_check_engine, eng, form)
        if form.errors:
            raise StepFailed("; ".join(f"{k}: {e}" for k, errs in form.errors.items() for e in errs))
        yield _step("check", "ok")

        current = "pull"
        yield _step("pull", "running", f"docker pull {spec.image}")
        if await eng.short_call(eng.image_exists, spec.image):
            yield _step("pull", "ok", message=f"{spec.image} is already on this engine")
        else:
            ref = engine.parse_image_reference(spec.image)
            async for event in eng.iterate_in_thread(lambda: eng.pull(ref)):
                yield {"type": "progress", "step": "pull", **event}
            yield _step("pull", "ok", message=f"pulled {spec.image}")

        current = "run"
        yield _step("run", "running", spec.cli())
        container = await eng.long_call(eng.create_container, spec.image, **spec.engine_options())
        await eng.long_call(eng.start_container, container.id)
        yield _step("run", "ok", message=f"{container.name} is running")

        if form.cleaned_data["preset"] == "seed":
            for key, argv in SEED_STEPS:
                current = key
                yield _step(key, "running", f"docker exec {shlex.quote(container.name)} {shlex.join(argv)}")
                code = None
                async for event in eng.iterate_in_thread(
                    lambda argv=argv: eng.exec_stream(container.id, argv, APT_ENV)
                ):
                    if "output" in event:
                        yield {"type": "output", "step": key, "text": event["output"]}
                    else:
                        code = event["exit_code"]
                if code != 0:
                    raise StepFailed(f"{shlex.join(argv)} exited with code {code}")
                yield _step(key, "ok")

        current = "open"
        # asked where the engine runs: on a remote host, its address, not this machine's loopback
        published = engine.PublishedPort(80, "tcp", spec.ports[0].host_ip, spec.ports[0].host.start)
        url = published.url_on(eng.public_host)
        yield _step("open", "running", f"Open {url}")
        if eng.public_host or spec.ports[0].host_ip in ("", "0.0.0.0", "::", "127.0.0.1", "::1"):
            answer = await eng.long_call(_wait_for_http, url)
            yield {"type": "output", "step": "open", "text": answer}
        yield _step("open", "ok", message=f"{url} answers")
    except Exception as e:  # the response has started: every failure, the engine's included, is an event
        if not isinstance(e, StepFailed):
            e = eng.translate(e)
        yield _step(current, "failed", message=str(e))
        await sync_to_async(_finish)(started, form, spec, container, ok=False, result=f"{current}: {e}")
        yield {
            "type": "error",
            "step": current,
            "message": str(e),
            "container": container.name if container else "",
        }
        return
    await sync_to_async(_finish)(started, form, spec, container, ok=True, result=url)
    yield {"type": "done", "url": url, "container": container.name}


def _check_engine(eng: engine.Engine, form: ApacheDeployForm) -> None:
    name = form.cleaned_data["name"]
    if eng.container_name_taken(name):
        form.add_error("name", f"The name '{name}' is already used by another container.")

    def fail(_index: int, message: str) -> None:
        form.add_error("host_port", message)

    check_host_ports(eng, [form.binding()], fail)


def _wait_for_http(url: str) -> str:
    """The first lines of the page once the server answers (it may take a moment to start)."""
    deadline = time.monotonic() + HTTP_WAIT
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read(4096).decode("utf-8", "replace")
                return f"HTTP {response.status}: {_title(body)}"
        except urllib.error.HTTPError as e:
            return f"HTTP {e.code}"
        except OSError as e:
            last = str(e)
            time.sleep(0.5)
    raise StepFailed(f"{url} did not answer within {HTTP_WAIT:.0f}s ({last})")


def _title(html: str) -> str:
    lowered = html.lower()
    if "it works" in lowered:
        return "It works!"
    start = lowered.find("<title>")
    if start >= 0:
        return html[start + 7 : lowered.find("</title>", start)].strip()
    return html[:200].strip()


def _params(form, spec: RunSpec | None) -> dict:
    params = {"preset": form.data.get("preset", ""), **(spec.audit_params() if spec else dict(form.data.items()))}
    params.pop("csrfmiddlewaretoken", None)
    return params


def _finish(started, form, spec: RunSpec | None, container, ok: bool, result: str) -> None:
    audit.finish(
        started,
        ok=ok,
        result=result,
        target_id=container.id if container else "",
        target_name=container.name if container else form.data.get("name", ""),
        params=_params(form, spec),
    )


@require_POST
@role_required("admin")
def apache_remove(request: HttpRequest) -> HttpResponse:
    """`docker rm -f` of a demo container left by a failed deploy (only containers the demo made)."""
    ref = get_container_or_404(request.engine, request.POST.get("container", ""))
    try:
        with audit.attempt(
            request, "container.remove", target_id=ref.id, target_name=ref.name, params={"force": True}
        ) as entry:
            if request.engine.container_labels(ref.id).get(DEPLOY_LABEL) != "apache":
                raise engine.EngineError(f"{ref.name} was not made by the Apache demo; remove it from its own page.")
            request.engine.discard_container(ref.id)
            entry.result = f"docker rm -f {ref.name}"
    except engine.EngineError as e:
        messages.error(request, str(e))
        return host_redirect(request, "deploy:apache")
    messages.success(request, _("Removed %(name)s.") % {"name": ref.name})
    return host_redirect(request, "deploy:apache")
