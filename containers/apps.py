from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ContainersConfig(AppConfig):
    name = "containers"
    verbose_name = "DockerPanel"

    def ready(self) -> None:
        from containers.roles import ensure_groups

        # The data migration makes the groups; this puts them back after a database flush.
        post_migrate.connect(ensure_groups, sender=self)
