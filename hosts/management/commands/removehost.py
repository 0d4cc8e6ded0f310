"""Remove a Docker host from the panel (its engine is not touched)."""

from django.core.management.base import BaseCommand, CommandError

from containers import audit
from hosts.models import Host


class Command(BaseCommand):
    help = "Remove a host from the panel. The default host cannot be removed: make another the default first."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, name, **options):
        host = Host.objects.filter(name=name).first()
        if host is None:
            raise CommandError(f"no host named {name}")
        if host.is_default:
            raise CommandError(f"{name} is the default host; make another host the default first (addhost --default)")
        params = {"url": host.address, "via": "manage.py removehost"}
        with audit.attempt(None, "host.remove", target_id=str(host.pk), target_name=name, host=name, params=params):
            host.delete()
        self.stdout.write(f"Removed host {name}.")
