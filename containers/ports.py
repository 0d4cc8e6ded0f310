"""The `-p` grammar of `docker run`: CLI text to bindings, bindings to the SDK's `ports`, and back.

A binding is one `-p` value: `[host_ip:][host_port[-end]:]container_port[-end][/protocol]`. Ranges stay one
binding (as the user wrote them); they are expanded only for the SDK, as the CLI does.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import shlex
import socket
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PROTOCOLS = ("tcp", "udp", "sctp")
WILDCARDS = ("", "0.0.0.0", "::")
_DIGITS = re.compile(r"[0-9]+")


class PortError(ValueError):
    """An invalid `-p` value; str() says what is wrong, `field` names the part (for form rows)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PortRange:
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start + 1

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"

    def ports(self) -> range:
        return range(self.start, self.end + 1)


@dataclass(frozen=True)
class PortBinding:
    container: PortRange
    host: PortRange | None = None  # None: the engine picks a free host port
    host_ip: str = ""  # "": all interfaces
    protocol: str = "tcp"

    def __str__(self) -> str:
        return to_text(self)

    def pairs(self) -> list[tuple[int, int | None]]:
        """(container port, host port or None) for each port of a range."""
        if self.host is None:
            return [(c, None) for c in self.container.ports()]
        return list(zip(self.container.ports(), self.host.ports(), strict=True))


# What a port is called in messages (the messages are whole sentences with it as a placeholder).
PORT = gettext_lazy("port")
CONTAINER_PORT = gettext_lazy("container port")
HOST_PORT = gettext_lazy("host port")


def parse_port(text: str, what: str = PORT, field: str = "") -> int:
    text = text.strip()
    if not _DIGITS.fullmatch(text):
        raise PortError(_("%(what)s '%(text)s' is not a number") % {"what": what, "text": text}, field)
    port = int(text) if len(text) <= 5 else 0
    if not 1 <= port <= 65535:
        raise PortError(_("%(what)s %(text)s is out of range: ports are 1-65535") % {"what": what, "text": text}, field)
    return port


def parse_range(text: str, what: str = PORT, field: str = "") -> PortRange:
    text = text.strip()
    if not text:
        raise PortError(_("%(what)s is missing") % {"what": what}, field)
    start, dash, end = text.partition("-")
    first = parse_port(start, what, field)
    last = parse_port(end, what, field) if dash else first
    if last < first:
        raise PortError(_("%(what)s range %(text)s ends before it starts") % {"what": what, "text": text}, field)
    return PortRange(first, last)


def parse_ip(text: str) -> str:
    """A host IP as the engine takes it ('' for all interfaces); brackets around IPv6 are optional."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text:
        return ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise PortError(_("host IP '%(ip)s' is not a valid IPv4 or IPv6 address") % {"ip": text}, "host_ip") from None


def make_binding(host_ip: str, host_port: str, container_port: str, protocol: str = "tcp") -> PortBinding:
    """One binding from the parts of a form row; PortError names the bad part."""
    protocol = (protocol or "tcp").strip().lower()
    if protocol not in PROTOCOLS:
        raise PortError(
            _("protocol '%(protocol)s' is not one of %(protocols)s")
            % {"protocol": protocol, "protocols": ", ".join(PROTOCOLS)},
            "protocol",
        )
    container = parse_range(container_port, CONTAINER_PORT, "container_port")
    host = parse_range(host_port, HOST_PORT, "host_port") if host_port.strip() else None
    if host is not None and len(host) != len(container):
        raise PortError(
            _(
                "host ports %(host)s (%(host_count)d) and container ports %(container)s (%(container_count)d) "
                "must be ranges of the same length"
            )
            % {"host": host, "host_count": len(host), "container": container, "container_count": len(container)},
            "host_port",
        )
    return PortBinding(container=container, host=host, host_ip=parse_ip(host_ip), protocol=protocol)


def parse_spec(spec: str) -> PortBinding:
    """One `-p` value: `80`, `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80`, `[::1]:8080:80/udp`, ranges."""
    spec = spec.strip()
    if not spec:
        raise PortError(_("an empty -p value"))
    rest, slash, protocol = spec.rpartition("/")
    if not slash:
        rest, protocol = spec, "tcp"
    elif not protocol:
        raise PortError(_("'%(spec)s': the protocol after '/' is missing") % {"spec": spec})
    host_ip = ""
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0 or rest[close + 1 : close + 2] != ":":
            raise PortError(
                _("'%(spec)s': an IPv6 address is written [address]:host_port:container_port") % {"spec": spec}
            )
        host_ip, rest = rest[1:close], rest[close + 2 :]
        if not host_ip:
            raise PortError(_("'%(spec)s': the IPv6 address in brackets is empty") % {"spec": spec}, "host_ip")
        parts = rest.split(":")
        if len(parts) != 2:
            raise PortError(_("'%(spec)s' is not [address]:host_port:container_port") % {"spec": spec})
        host_port, container_port = parts
    else:
        parts = rest.split(":")
        if len(parts) == 1:
            host_port, container_port = "", parts[0]
        elif len(parts) == 2:
            host_port, container_port = parts
            if not host_port:
                raise PortError(_("'%(spec)s': the host port before ':' is missing") % {"spec": spec}, "host_port")
        elif len(parts) == 3:
            host_ip, host_port, container_port = parts
            if not host_ip:
                raise PortError(_("'%(spec)s': the host IP before ':' is missing") % {"spec": spec}, "host_ip")
        else:
            raise PortError(
                _("'%(spec)s' has too many ':'; write IPv6 addresses in brackets, e.g. [::1]:8080:80") % {"spec": spec}
            )
    try:
        return make_binding(host_ip, host_port, container_port, protocol)
    except PortError as e:
        raise PortError(_("'%(spec)s': %(error)s") % {"spec": spec, "error": e}, e.field) from None


def parse(text: str) -> list[PortBinding]:
    """Several `-p` values, as typed after `docker run`: `-p 3306:3306 -p 192.168.0.100:7777:80`.

    The flags may be left out (`8080:80 443`), and `--publish` / `--publish=` / `-p=` are accepted.
    """
    try:
        tokens = shlex.split(text or "")
    except ValueError as e:
        raise PortError(_("cannot read the -p text: %(error)s") % {"error": e}) from None
    bindings: list[PortBinding] = []
    expect_value = False
    for token in tokens:
        if expect_value:
            bindings.append(parse_spec(token))
            expect_value = False
        elif token in ("-p", "--publish"):
            expect_value = True
        elif token.startswith(("--publish=", "-p=")):
            bindings.append(parse_spec(token.split("=", 1)[1]))
        elif token.startswith("-p") and token[2:3].isdigit() or token.startswith("-p["):
            bindings.append(parse_spec(token[2:]))
        elif token.startswith("-"):
            raise PortError(_("'%(token)s' is not a -p option; only port bindings go here") % {"token": token})
        else:
            bindings.append(parse_spec(token))
    if expect_value:
        raise PortError(_("the last -p has no value"))
    return bindings


def host_ip_text(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def to_text(binding: PortBinding) -> str:
    """The `-p` value for one binding, in the shortest form the CLI reads back the same."""
    host = "" if binding.host is None else str(binding.host)
    if binding.host_ip:
        text = f"{host_ip_text(binding.host_ip)}:{host}:{binding.container}"
    elif host:
        text = f"{host}:{binding.container}"
    else:
        text = str(binding.container)
    if binding.protocol != "tcp":
        text += f"/{binding.protocol}"
    return text


def to_cli(bindings: list[PortBinding]) -> str:
    """`-p A -p B` for a list of bindings."""
    return " ".join(f"-p {shlex.quote(to_text(b))}" for b in bindings)


def binding_count(bindings: list[PortBinding]) -> int:
    """How many ports the bindings publish, ranges counted port by port, without expanding them."""
    return sum(len(b.container) for b in bindings)


def to_sdk(bindings: list[PortBinding]) -> dict:
    """The `ports` argument of the SDK's containers.create/run: {"80/tcp": [binding, ...]}."""
    ports: dict[str, list] = {}
    for b in bindings:
        for container_port, host_port in b.pairs():
            value: object
            if b.host_ip:
                value = (b.host_ip, host_port) if host_port is not None else (b.host_ip,)
            else:
                value = host_port
            ports.setdefault(f"{container_port}/{b.protocol}", []).append(value)
    return ports


def overlaps(a_ip: str, b_ip: str) -> bool:
    """Two host IPs collide on the same port: equal, or either one is a wildcard."""
    return a_ip == b_ip or a_ip in WILDCARDS or b_ip in WILDCARDS


def duplicates(bindings: list[PortBinding]) -> list[tuple[int, str]]:
    """(index of the binding, message) for each host IP+port+protocol already used by an earlier binding."""
    seen: list[tuple[str, int, str]] = []
    found = []
    for i, b in enumerate(bindings):
        for _container_port, host_port in b.pairs():
            if host_port is None:
                continue
            clash = next(
                (s for s in seen if s[1] == host_port and s[2] == b.protocol and overlaps(s[0], b.host_ip)), None
            )
            if clash:
                where = host_ip_text(b.host_ip or "0.0.0.0")
                found.append(
                    (
                        i,
                        _("host port %(where)s:%(port)s/%(protocol)s is bound twice in this form")
                        % {"where": where, "port": host_port, "protocol": b.protocol},
                    )
                )
                break
            seen.append((b.host_ip, host_port, b.protocol))
    return found


def host_port_free(host_ip: str, port: int, protocol: str = "tcp") -> bool:
    """Whether some process on this host already holds the port: try binding it and let go."""
    ip = host_ip or "0.0.0.0"
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    if protocol == "sctp":
        return True  # not every kernel lets us open SCTP sockets; the engine will tell
    with socket.socket(family, kind) as s:
        try:
            s.bind((ip, port))
        except OSError as e:
            if e.errno == errno.EADDRNOTAVAIL:
                raise PortError(_("host IP %(ip)s is not an address of this host") % {"ip": ip}, "host_ip") from None
            return False
    return True


def free_host_port(host_ip: str = "127.0.0.1") -> int:
    """A TCP port nothing on this host uses right now (the kernel's pick)."""
    ip = host_ip or "0.0.0.0"
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((ip, 0))
        return s.getsockname()[1]
