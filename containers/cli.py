"""Render engine data the way the docker CLI prints it (`docker ps`, `docker images`, `docker history`).

Pure functions over plain dicts from the Engine API, so they are unit-tested with captured real data.
The reference is the CLI that ships with the engine (Debian's docker.io 20.10), as the issue quotes it:
PORTS `0.0.0.0:8080->80/tcp, :::8080->80/tcp`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

# Go's zero time, which the engine uses for "never" (FinishedAt of a running container).
_ZERO_YEAR = 1


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: "Less than a second", "About a minute", "3 hours", "2 weeks"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def parse_time(value: str | int | float | None) -> float | None:
    """Epoch seconds from the engine's RFC 3339 nanosecond strings or unix timestamps; None for Go's zero."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if text.startswith("0001-01-01"):
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python parses at most microseconds: cut the nanoseconds' last digits.
    if "." in text:
        head, rest = text.split(".", 1)
        frac = ""
        while rest and rest[0].isdigit():
            frac += rest[0]
            rest = rest[1:]
        text = f"{head}.{frac[:6].ljust(6, '0')}{rest}"
    return datetime.fromisoformat(text).timestamp()


def ago(when: str | int | float | None, now: float | None = None) -> str:
    """CREATED as the CLI shows it: "5 minutes ago"; "" when never."""
    t = parse_time(when)
    if t is None:
        return ""
    return human_duration((now if now is not None else time.time()) - t) + " ago"


def iso(when: str | int | float | None) -> str:
    """A timestamp as UTC ISO text for titles and tooltips; "" when never."""
    t = parse_time(when)
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short_id(value: str) -> str:
    """CONTAINER ID / IMAGE ID: 12 hex characters, without the "sha256:" algorithm."""
    value = value or ""
    if ":" in value:
        value = value.split(":", 1)[1]
    return value[:12]


def ellipsis(text: str, width: int) -> str:
    """Cut to `width` characters, the last one being "…", as the CLI's formatter.Ellipsis."""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…"


def go_quote(text: str) -> str:
    """strconv.Quote: double quotes, with backslash escapes for quotes and control characters."""
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def command(cmd: str, trunc: bool = True) -> str:
    """COMMAND: quoted, cut at 20 characters with "…" unless --no-trunc."""
    cmd = cmd or ""
    return go_quote(ellipsis(cmd, 20) if trunc else cmd)


def names(values: list[str] | None) -> str:
    """NAMES: without the leading "/", and without link aliases ("other/alias") like the CLI."""
    stripped = [n[1:] if n.startswith("/") else n for n in (values or [])]
    for n in stripped:
        if "/" not in n:
            return n
    return ",".join(stripped)


def image(image_name: str, image_id: str = "") -> str:
    """IMAGE: the name the container was created from; a bare ID is cut to 12 characters."""
    if not image_name:
        return "<no image>"
    if image_name.startswith("sha256:") or (image_id and short_id(image_id) == short_id(image_name)):
        return short_id(image_name)
    name = image_name.split("@", 1)[0]  # the CLI drops a digest when truncating
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def status(state: dict, now: float | None = None) -> str:
    """STATUS from inspect's State, as the engine words it: "Up 3 minutes", "Exited (0) 2 hours ago"."""
    now = now if now is not None else time.time()
    started = parse_time(state.get("StartedAt"))
    finished = parse_time(state.get("FinishedAt"))
    if state.get("Running"):
        since = human_duration(now - (started or now))
        if state.get("Paused"):
            return f"Up {since} (Paused)"
        if state.get("Restarting"):
            return f"Restarting ({state.get('ExitCode', 0)}) {human_duration(now - (finished or now))} ago"
        health = (state.get("Health") or {}).get("Status")
        if health:
            return f"Up {since} ({'health: starting' if health == 'starting' else health})"
        return f"Up {since}"
    if state.get("Status") == "removing":
        return "Removal In Progress"
    if state.get("Dead"):
        return "Dead"
    if started is None:
        return "Created"
    if finished is None:
        return ""
    return f"Exited ({state.get('ExitCode', 0)}) {human_duration(now - finished)} ago"


@dataclass(frozen=True)
class PortGroup:
    """One comma-separated part of PORTS, with the host ports it publishes (for links)."""

    text: str
    published: tuple[tuple[str, int], ...] = ()  # (host IP, host port) of published TCP ports
    protocol: str = "tcp"


def _port_sort_key(p: dict):
    return (p.get("PrivatePort", 0), p.get("IP", "") or "", p.get("PublicPort", 0) or 0, p.get("Type", ""))


def port_groups(ports: list[dict] | None) -> list[PortGroup]:
    """PORTS as the CLI's DisplayablePorts builds it: equal host/container ranges grouped, then mappings."""
    ordered = sorted(ports or [], key=_port_sort_key)
    groups: dict[str, list[int]] = {}  # key -> [first, last]
    keys: list[str] = []
    result: list[PortGroup] = []
    mappings: list[PortGroup] = []

    def form(key: str, first: int, last: int) -> PortGroup:
        ip, _, proto = key.rpartition("/")
        span = str(first) if first == last else f"{first}-{last}"
        text = f"{ip}:{span}->{span}/{proto}" if ip else f"{span}/{proto}"
        published = tuple((ip, p) for p in range(first, last + 1)) if ip and proto == "tcp" else ()
        return PortGroup(text=text, published=published, protocol=proto)

    for p in ordered:
        current = p.get("PrivatePort", 0)
        proto = p.get("Type", "tcp")
        ip = p.get("IP", "") or ""
        key = proto
        if ip:
            public = p.get("PublicPort", 0) or 0
            if public != current:
                published = ((ip, public),) if proto == "tcp" else ()
                mappings.append(PortGroup(f"{ip}:{public}->{current}/{proto}", published, proto))
                continue
            key = f"{ip}/{proto}"
        group = groups.get(key)
        if group is None:
            groups[key] = [current, current]
            keys.append(key)
            continue
        if current == group[1] + 1:
            group[1] = current
            continue
        result.append(form(key, group[0], group[1]))
        groups[key] = [current, current]
    result.extend(form(k, *groups[k]) for k in keys)
    return result + mappings


def ports(values: list[dict] | None) -> str:
    """The PORTS column text."""
    return ", ".join(g.text for g in port_groups(values))


def ports_from_inspect(network_settings: dict) -> list[dict]:
    """inspect's NetworkSettings.Ports ({"80/tcp": [{"HostIp", "HostPort"}]}) as /containers/json rows."""
    rows: list[dict] = []
    for spec, bindings in (network_settings.get("Ports") or {}).items():
        port, _, proto = spec.partition("/")
        if not bindings:
            rows.append({"PrivatePort": int(port), "Type": proto or "tcp"})
            continue
        for b in bindings:
            rows.append(
                {
                    "IP": b.get("HostIp", ""),
                    "PrivatePort": int(port),
                    "PublicPort": int(b.get("HostPort") or 0),
                    "Type": proto or "tcp",
                }
            )
    return rows


# Browsers scope cookies by host, not port: a link to a published port must not use the host name
# the panel is browsed by, or whatever listens there receives the panel's session cookie.
LOOPBACK_TWIN = {"127.0.0.1": "localhost", "localhost": "127.0.0.1", "::1": "localhost"}


def port_url(host_ip: str, port: int, link_host: str, panel_host: str = "") -> str:
    """Where a published port opens: `link_host` for 0.0.0.0/::, else that IP; never `panel_host`
    (the other loopback name instead, or "" for no link)."""
    if host_ip in ("", "0.0.0.0", "::"):
        host = link_host
    else:
        host = host_ip
    if panel_host and host == panel_host:
        host = LOOPBACK_TWIN.get(host, "")
    if not host:
        return ""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def size(n: int | float | None) -> str:
    """SIZE as `docker images` shows it: decimal units, 3 significant digits ("1.98MB", "117MB")."""
    value = float(n or 0)
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while value >= 1000 and i < len(units) - 1:
        value /= 1000
        i += 1
    return f"{value:.3g}{units[i]}"  # Go's %.3g and Python's agree, exponents included


def image_rows(image: dict) -> list[tuple[str, str]]:
    """(REPOSITORY, TAG) pairs of one /images/json entry; dangling images are ("<none>", "<none>")."""
    tags = [t for t in (image.get("RepoTags") or []) if t != "<none>:<none>"]
    if tags:
        pairs = []
        for t in tags:
            repo, _, tag = t.rpartition(":")
            pairs.append((repo, tag))
        return pairs
    digests = [d for d in (image.get("RepoDigests") or []) if d != "<none>@<none>"]
    if digests:
        return [(digests[0].split("@", 1)[0], "<none>")]
    return [("<none>", "<none>")]


def created_by(text: str, trunc: bool = True) -> str:
    """CREATED BY of `docker history`: whitespace collapsed, cut at 45 characters."""
    text = " ".join((text or "").replace("\t", " ").split())
    return ellipsis(text, 45) if trunc else text


def format_template(columns: list[str]) -> str:
    """The `docker ps --format` that shows these columns, for the column chooser's hint."""
    fields = {
        "id": "{{.ID}}",
        "image": "{{.Image}}",
        "command": "{{.Command}}",
        "created": "{{.RunningFor}}",
        "status": "{{.Status}}",
        "ports": "{{.Ports}}",
        "names": "{{.Names}}",
    }
    return "table " + "\\t".join(fields[c] for c in columns if c in fields)
