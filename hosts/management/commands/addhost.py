"""Add or update a Docker host from a script, then check its connection."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from containers import audit
from containers.engine import EngineUnavailable
from hosts import connection
from hosts.address import parse_url
from hosts.forms import HostForm
from hosts.models import Host


def _read(path: str | None) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text()
    except OSError as e:
        raise CommandError(f"cannot read {path}: {e.strerror}") from None


class Command(BaseCommand):
    help = "Add (or update) a Docker host and check that it answers. Keys are read from files, stored encrypted."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("url", help="unix:///path, tcp://host:port or ssh://user@host[:port]")
        parser.add_argument("--tls-ca", metavar="FILE")
        parser.add_argument("--tls-cert", metavar="FILE")
        parser.add_argument("--tls-key", metavar="FILE")
        parser.add_argument("--ssh-key", metavar="FILE")
        parser.add_argument("--accept-host-key", action="store_true", help="accept the SSH host key the server offers")
        parser.add_argument("--public-address", metavar="HOST", default="")
        parser.add_argument("--default", action="store_true", help="make it the default host")

    def handle(self, name, url, **options):
        Host.default()  # `local` first, so a first host added here is not silently the only one
        host = Host.objects.filter(name=name).first()
        data = {
            "name": name,
            "url": url,
            "tls_ca": _read(options["tls_ca"]) or (host.tls_ca if host else ""),
            "tls_cert": _read(options["tls_cert"]) or (host.tls_cert if host else ""),
            "tls_key": _read(options["tls_key"]),
            "ssh_key": _read(options["ssh_key"]),
            "public_address": options["public_address"] or (host.public_address if host else ""),
            "make_default": options["default"] or (host.is_default if host else False),
        }
        form = HostForm(data, instance=host)
        if not form.is_valid():
            errors = "; ".join(f"{f}: {' '.join(e)}" if f != "__all__" else " ".join(e) for f, e in form.errors.items())
            raise CommandError(errors)
        action = "host.update" if host else "host.create"
        params = {**form.changes(), "via": "manage.py addhost"}
        with transaction.atomic(), audit.attempt(None, action, target_name=name, host=name, params=params) as entry:
            host = form.save()
            entry.target_id = str(host.pk)
            entry.result = f"{host.name}: {host.address}"
        self.stdout.write(f"{'Updated' if action == 'host.update' else 'Added'} host {host.name} ({host.address}).")
        if options["accept_host_key"] and parse_url(host.address).scheme == "ssh":
            self._accept_key(host)
        state = connection.probe(host, settings.DOCKER_PAGE_TIMEOUT)
        if not state.up:
            hint = (
                " Run again with --accept-host-key if this is the right key."
                if state.kind == "host-key-unknown"
                else ""
            )
            raise CommandError(f"{host.name} was saved but does not answer: {state.error}{hint}")
        self.stdout.write(f"{host.name} answers: Docker Engine {state.version} (API {state.api_version}), {state.os}.")

    def _accept_key(self, host: Host) -> None:
        try:
            line, fingerprint = connection.fetch_host_key(host.address, settings.DOCKER_PAGE_TIMEOUT)
        except EngineUnavailable as e:
            raise CommandError(f"{host.name} was saved, but its host key cannot be fetched: {e}") from None
        params = {"fingerprint": fingerprint, "via": "manage.py addhost"}
        with audit.attempt(
            None, "host.key_accept", target_id=str(host.pk), target_name=host.name, host=host.name, params=params
        ):
            host.ssh_host_key = line
            host.save(update_fields=["ssh_host_key", "updated"])
        self.stdout.write(f"Accepted the SSH host key {fingerprint}.")
