"""Terminal pages: `docker exec -it` and `docker attach` in the browser (the stream is a websocket)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from containers.access import get_container_or_404
from containers.links import ws_base
from containers.roles import role_required
from containers.terminal import ExecOptions, cli_equivalent, parse_exec_options


@role_required("operator")
def exec_page(request: HttpRequest, ref: str) -> HttpResponse:
    """A full-size terminal running a shell (or the given command) in the container."""
    target = request.engine.terminal_target(get_container_or_404(request.engine, ref))
    # The options form posts, so the command stays out of access logs (a GET link still works).
    given = request.POST if request.method == "POST" else request.GET
    typed = {k: given.get(k, "").strip() for k in ("cmd", "user", "workdir")}
    error = ""
    try:
        options = parse_exec_options(**typed)
    except ValueError as e:
        options, error = ExecOptions(cmd=[]), str(e)
    # The options travel in the socket's first frame (static/js/terminal.js), never in its URL.
    return render(
        request,
        "terminal/exec.html",
        {
            "container": target,
            "typed": typed,
            "error": error,
            "cli": cli_equivalent(target.name, options),
            "ws_path": f"{ws_base(request)}/containers/{target.id}/exec/",
            "ws_open": typed if not error else {},
        },
    )


@role_required("operator")
def attach_page(request: HttpRequest, ref: str) -> HttpResponse:
    """The main process's terminal, as `docker attach` shows it."""
    target = request.engine.terminal_target(get_container_or_404(request.engine, ref))
    return render(
        request,
        "terminal/attach.html",
        {
            "container": target,
            "cli": f"docker attach {target.name}",
            "ws_path": f"{ws_base(request)}/containers/{target.id}/attach/",
        },
    )
