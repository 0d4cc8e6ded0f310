"""The engine URL grammar: unix:///path, tcp://host:port and ssh://user@host[:port]."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

SCHEMES = ("unix", "tcp", "ssh")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_USER = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$")


@dataclass(frozen=True)
class Address:
    scheme: str
    host: str = ""  # tcp and ssh: a host name or IP address (IPv6 without brackets)
    port: int | None = None
    user: str = ""  # ssh only
    path: str = ""  # unix only

    @property
    def where(self) -> str:
        """host:port as ssh names it in messages ("127.0.0.1:2222", "[::1]:22")."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        """The name a known_hosts line uses for this host ("[127.0.0.1]:2222", or the host on port 22)."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


def parse_url(url: str) -> Address:
    """Check an engine URL; ValueError with a message saying what to write instead."""
    url = (url or "").strip()
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise ValueError(
            _("Give an engine URL starting with unix://, tcp:// or ssh:// (for example %(example)s).")
            % {"example": "unix:///var/run/docker.sock"}
        )
    if any(c.isspace() for c in url):
        raise ValueError(_("An engine URL has no spaces."))
    if scheme == "unix":
        if not rest.startswith("/") or rest == "/":
            raise ValueError(_("A unix:// URL names the socket's absolute path: unix:///var/run/docker.sock."))
        if "?" in rest or "#" in rest:
            raise ValueError(_("A unix:// URL is only the socket's path, without ? or #."))
        return Address("unix", path=rest)
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(_("A %(scheme)s:// URL has no path or parameters after the port.") % {"scheme": scheme})
    try:
        port = parts.port
        host = parts.hostname or ""
    except ValueError:
        raise ValueError(_("The port must be a number from 1 to 65535.")) from None
    if not _valid_host(host):
        raise ValueError(_("'%(host)s' is not a host name or IP address.") % {"host": host or "(empty)"})
    if port == 0:
        raise ValueError(_("The port must be a number from 1 to 65535."))
    if scheme == "tcp":
        if parts.username is not None or parts.password is not None:
            raise ValueError(_("A tcp:// URL has no user name: tcp://host:port."))
        if port is None:
            raise ValueError(_("Give the engine's port, for example tcp://%(host)s:2376.") % {"host": parts.netloc})
        return Address("tcp", host=host, port=port)
    if parts.password is not None:
        raise ValueError(_("Never put a password in the URL; store a private key instead."))
    if not parts.username or not _USER.match(parts.username):
        raise ValueError(_("Give the SSH user: ssh://user@%(host)s.") % {"host": parts.netloc.rpartition("@")[2]})
    return Address("ssh", host=host, port=port or 22, user=parts.username)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host))
