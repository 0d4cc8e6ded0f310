"""The panel's own container, when it runs in one (the image, deploy/compose.yaml).

Stopping, pausing, restarting or removing it from its own pages would pull the page out from under
the user with no way back from the browser, so the pages refuse and name the command to run on the
host. It is DOCKERPANEL_CONTAINER_ID (an ID or name) when set, else what the engine mounts into every
container says: /etc/hostname comes from /var/lib/docker/containers/<id>/ (mountinfo, any cgroup
version), and under cgroup v1 /proc/self/cgroup names /docker/<id>.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from django.conf import settings

from containers.engine import Engine, NotFound

MOUNTINFO = re.compile(r"/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\.conf) ")
CGROUP = re.compile(r"(?:/docker/|/docker-)([0-9a-f]{64})")
# What would end the panel's own process: refused on its own container.
REFUSED = ("stop", "kill", "pause", "restart", "remove")


def detect(mountinfo: str, cgroup: str) -> str:
    """The container ID in /proc/self/mountinfo or /proc/self/cgroup text, or ""."""
    for pattern, text in ((MOUNTINFO, mountinfo), (CGROUP, cgroup)):
        if found := pattern.search(text):
            return found[1]
    return ""


@cache
def _detected() -> str:
    def read(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    return detect(read("/proc/self/mountinfo"), read("/proc/self/cgroup"))


def candidate() -> str:
    """The ID or name the panel takes for its own container ("" when it runs on a host)."""
    return settings.DOCKERPANEL_CONTAINER_ID or _detected()


def is_own(container_id: str, name: str = "") -> bool:
    """Whether the container with this ID (or unique ID prefix, as the engine takes) and name is the
    one the panel runs in."""
    own = candidate().lstrip("/")
    if not own:
        return False
    if own in (container_id, name):
        return True
    hex_id = re.compile(r"[0-9a-f]{3,64}")
    if not (hex_id.fullmatch(own) and hex_id.fullmatch(container_id)):
        return False
    return container_id.startswith(own) or own.startswith(container_id)


def refusal(verb: str, name: str) -> str:
    """The message for a refused action on the panel's own container."""
    command = "rm -f" if verb == "remove" else verb
    return (
        f"{name} is the container this panel runs in: to {verb} it from here would cut off this page with no "
        f"way back from the browser. Run `docker {command} {name}` on the host instead."
    )


def sees_host_ports(engine: Engine) -> bool:
    """Whether binding a port here says anything about the ports of `engine`'s host.

    Only for an engine on this machine (a unix socket), and then when the panel is not in one of its
    containers (it runs on the host) or is in one on the host's network. In a container with its own
    network, the bind probe would only see that container's ports."""
    if not engine.is_local:
        return False
    own = candidate()
    if not own:
        return True
    try:
        ref = engine.resolve_container(own)
    except NotFound:
        return True  # in a container of some other engine: this one's ports are not ours to probe
    return engine.network_mode(ref.id) == "host"
