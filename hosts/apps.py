from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class HostsConfig(AppConfig):
    name = "hosts"
    verbose_name = "Docker hosts"

    def ready(self) -> None:
        post_save.connect(forget_engine, sender="hosts.Host", dispatch_uid="hosts-forget-engine-saved")
        post_delete.connect(forget_engine, sender="hosts.Host", dispatch_uid="hosts-forget-engine-deleted")


def forget_engine(sender, instance, **kwargs) -> None:
    """A host edited or removed: its Engine (clients, pools) and the default host's name are read
    anew from the rows on next use."""
    from containers.engine import registry

    registry.forget_engine(instance.name)
