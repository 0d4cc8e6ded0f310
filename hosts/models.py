"""Docker hosts: where each engine is and the credentials to reach it.

API for the engine registry: `Host.default()` (the default host; `local`, made on first use while no
host is the default, whose blank URL follows DOCKER_HOST or the local socket), `host.address` (the
engine URL to use), `Host.objects.listed()` (every host, the default made first),
`hosts.connection.make_client(host, timeout=..., pool_size=...)`.
Private keys (`tls_key`, `ssh_key`) hold encrypted tokens: read them with `host.secret(name)`,
write them with `host.set_secret(name, text)`; they are never shown back.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hosts import vault
from hosts.address import parse_url

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Names the /hosts/ pages use for their own paths.
RESERVED_NAMES = {"add", "new"}
LOCAL = "local"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
SECRETS = ("tls_key", "ssh_key")


def validate_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise ValidationError(
            _("Use 1 to 63 lowercase letters, digits and dashes, starting and ending with a letter or digit."),
            code="invalid",
        )
    if name in RESERVED_NAMES:
        raise ValidationError(_("'%(name)s' is reserved; choose another name.") % {"name": name}, code="reserved")


def validate_url(url: str) -> None:
    try:
        parse_url(url)
    except ValueError as e:
        raise ValidationError(str(e), code="invalid") from None


class HostManager(models.Manager):
    def listed(self) -> models.QuerySet[Host]:
        """Every host by name; the default host exists first (made on first use)."""
        Host.default()
        return self.order_by("name")


class Host(models.Model):
    name = models.CharField(max_length=63, unique=True, validators=[validate_name])
    # blank (the host `local` made on first start): what DOCKER_HOST names, as the docker CLI reads it
    url = models.CharField(max_length=512, blank=True, validators=[validate_url])
    tls_ca = models.TextField(blank=True)
    tls_cert = models.TextField(blank=True)
    tls_key = models.TextField(blank=True)  # encrypted (vault)
    ssh_key = models.TextField(blank=True)  # encrypted (vault)
    # The accepted host key as a known_hosts line: "[127.0.0.1]:2222 ssh-ed25519 AAAA..."
    ssh_host_key = models.TextField(blank=True)
    # Host name for links to published ports; blank: from the URL (see published_address()).
    public_address = models.CharField(max_length=255, blank=True)
    is_default = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = HostManager()

    class Meta:
        ordering = ["name"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_host"),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the secrets
        return f"<Host {self.name} {self.url}>"

    @property
    def address(self) -> str:
        """The engine URL: `url`, or for a blank one DOCKER_HOST (settings, then the environment),
        else the local socket, read at each use."""
        return self.url or settings.DOCKER_HOST or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET

    @property
    def scheme(self) -> str:
        return parse_url(self.address).scheme

    def clean(self) -> None:
        if not self.url and self.name != LOCAL:
            raise ValidationError({"url": _("Give the engine URL.")})

    @property
    def uses_tls(self) -> bool:
        return bool(self.tls_ca)

    def secret(self, name: str) -> str:
        """The decrypted private key `name` ("tls_key" or "ssh_key"); vault.SecretUnreadable if lost."""
        assert name in SECRETS
        return vault.decrypt(getattr(self, name))

    def set_secret(self, name: str, text: str) -> None:
        assert name in SECRETS
        setattr(self, name, vault.encrypt(text))

    def published_address(self) -> str:
        """The host name for links to ports it publishes: public_address, else the URL's host for
        tcp/ssh, else PORTS_HOST; "" for a local socket without either (the caller then uses the
        other loopback name of the page's own address)."""
        if self.public_address:
            return self.public_address
        address = parse_url(self.address)
        return address.host if address.scheme != "unix" else settings.PORTS_HOST

    def make_default(self) -> None:
        """This host becomes the one default host."""
        with transaction.atomic():
            Host.objects.filter(is_default=True).exclude(pk=self.pk).update(is_default=False)
            self.is_default = True
            self.save()

    @classmethod
    def default(cls) -> Host:
        """The default host. When there is none (first start; hosts made by scripts or tests before
        it), the host `local` is: made on first use from DOCKER_HOST, or the local socket."""
        found = cls.objects.filter(is_default=True).first()
        if found is not None:
            return found
        try:
            with transaction.atomic():
                local = cls.objects.filter(name=LOCAL).first()
                if local is None:
                    return cls._make_local()
                local.make_default()
                return local
        except IntegrityError:  # another process did it at the same moment
            return cls.objects.get(is_default=True)

    @classmethod
    def _make_local(cls) -> Host:
        host = cls(name=LOCAL, url="", is_default=True)
        cert_path = os.environ.get("DOCKER_CERT_PATH")
        tls = os.environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
        if host.address.startswith("tcp://") and cert_path and tls:
            # As the docker CLI does: ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH.
            folder = Path(cert_path)
            host.tls_ca = (folder / "ca.pem").read_text()
            host.tls_cert = (folder / "cert.pem").read_text()
            host.set_secret("tls_key", (folder / "key.pem").read_text())
        host.save()
        return host
