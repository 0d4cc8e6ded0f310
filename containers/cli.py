"""Render engine data the way the docker CLI prints it (`docker ps`, `docker images`, `docker history`).

Pure functions over plain dicts from the Engine API, so they are unit-tested with captured real data.
The reference is the current CLI (28, as installed on these machines): PORTS
`0.0.0.0:8080->80/tcp, [::]:8080->80/tcp`, familiar image names (`library/ubuntu` is `ubuntu`), columns
cut by display width (a CJK character or an emoji takes two cells), and `N/A` for a zero creation time.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

# Go's zero time (0001-01-01), which the engine uses for "never", as unix seconds.
_GO_ZERO_UNIX = -62135596800


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
        # 0 and Go's zero time both mean "not recorded" (images built reproducibly, imported ones)
        return None if value <= 0 or value == _GO_ZERO_UNIX else float(value)
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


def created(when: str | int | float | None, now: float | None = None) -> str:
    """CREATED of a container, an image or a history line: "5 minutes ago", or "N/A" when the engine
    has no creation time (Go's zero time or 0), as the CLI prints it instead of "2025 years ago"."""
    return ago(when, now) or "N/A"


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


def char_width(ch: str) -> int:
    """Terminal cells of one character, as go-runewidth counts them: 2 for wide (CJK, most emoji),
    0 for combining marks and zero-width characters, else 1."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


def display_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def ellipsis(text: str, width: int) -> str:
    """Cut to `width` terminal cells, the last being "…", as the CLI's formatter.Ellipsis: a CJK
    character or an emoji takes two cells, so "안녕하세요" cut at 6 is "안녕…"."""
    if width <= 0:
        return ""
    if text.isascii():
        return text if len(text) <= width else text[: width - 1] + "…"
    if display_width(text) <= width:
        return text
    used = 0
    for i, ch in enumerate(text):
        used += char_width(ch)
        if used > width - 1:
            return text[:i] + "…"
    return text


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


# distribution/reference's grammar: [domain[:port]/]path[:tag][@digest]. The CLI reads the IMAGE it
# shows by it; engine.parse_image_reference checks what users type by it.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
REFERENCE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)


def split_domain(name: str) -> tuple[str, str]:
    """distribution/reference's splitDockerDomain: ("docker.io", "library/ubuntu") for "ubuntu"."""
    first, slash, rest = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        domain, remainder = "docker.io", name
    else:
        domain, remainder = first, rest
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in remainder:
        remainder = "library/" + remainder
    return domain, remainder


def familiar_name(name: str) -> str:
    """reference.FamiliarName: "docker.io/library/ubuntu" and "library/ubuntu" are "ubuntu",
    "docker.io/team/app" is "team/app"; "docker.io/library/team/app" stays "library/team/app" (a
    different repository from "team/app"), and other registries keep their domain."""
    domain, remainder = split_domain(name)
    if domain != "docker.io":
        return f"{domain}/{remainder}"
    if remainder.startswith("library/") and "/" not in remainder[len("library/") :]:
        return remainder[len("library/") :]
    return remainder


def image(image_name: str, image_id: str = "") -> str:
    """IMAGE as `docker ps` shows it: a bare ID cut to 12 characters; a name in its familiar form
    with its tag, without a digest; a name the reference grammar refuses exactly as stored."""
    if not image_name:
        return "<no image>"
    if image_name.startswith("sha256:") or (image_id and short_id(image_id) == short_id(image_name)):
        return short_id(image_name)
    m = REFERENCE.match(image_name)
    name = (f"{m['domain']}/{m['path']}" if m["domain"] else m["path"]) if m else ""
    if not m or len(name) > 255:
        return image_name
    shown = familiar_name(name)
    return f"{shown}:{m['tag']}" if m["tag"] else shown


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


def host_ip_text(ip: str) -> str:
    """A host IP as PORTS shows it: IPv6 in brackets ("[::]", "[::1]"), as CLI 28 prints it."""
    return f"[{ip}]" if ":" in ip else ip


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
        text = f"{host_ip_text(ip)}:{span}->{span}/{proto}" if ip else f"{span}/{proto}"
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
                mappings.append(PortGroup(f"{host_ip_text(ip)}:{public}->{current}/{proto}", published, proto))
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
    """Where a published port opens: `link_host` for 0.0.0.0 (for :: its IPv6 loopback when it is a
    loopback name), else that IP; never `panel_host` (the other loopback name instead, or "" for no
    link)."""
    if host_ip in ("", "0.0.0.0"):
        host = link_host
    elif host_ip == "::":
        # published on IPv6 (a random port may differ from the IPv4 one): a loopback link must be
        # IPv6 too, or it reaches 127.0.0.1, where nothing listens on that port
        host = "::1" if link_host in ("127.0.0.1", "localhost") else link_host
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


def container_size(size_rw: int, size_root_fs: int) -> str:
    """SIZE of `docker ps -s`: the writable layer, then "(virtual …)" with the image when the engine
    gave a total ("0B (virtual 1.98MB)"), as the CLI's ContainerContext.Size words it."""
    if size_root_fs > 0:
        return f"{size(size_rw)} (virtual {size(size_root_fs)})"
    return size(size_rw)


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
        "size": "{{.Size}}",  # the CLI then asks for sizes itself, as -s does
    }
    return "table " + "\\t".join(fields[c] for c in columns if c in fields)
