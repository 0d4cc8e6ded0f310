from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_migrate, post_save


class ContainersConfig(AppConfig):
    name = "containers"
    verbose_name = "DockerPanel"

    def ready(self) -> None:
        from containers.roles import ensure_groups

        # The data migration makes the groups; this puts them back after a database flush.
        post_migrate.connect(ensure_groups, sender=self)
        post_save.connect(announce_audit_entry, sender="containers.AuditEntry")

        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from containers.accounts import bind_session, record_failed_login, record_lockout, record_logout

        user_login_failed.connect(record_failed_login, dispatch_uid="audit-login-failed")
        user_locked_out.connect(record_lockout, dispatch_uid="audit-locked-out")
        user_logged_in.connect(bind_session, dispatch_uid="bind-session")

        from containers.language import apply_at_login

        user_logged_in.connect(apply_at_login, dispatch_uid="apply-language")
        user_logged_out.connect(record_logout, dispatch_uid="audit-logout")


def announce_audit_entry(sender, instance, created: bool, **kwargs) -> None:
    """A toast for every open page once the entry is stored ("alice stopped web")."""
    from containers.events import publish_panel_entry

    if created:
        transaction.on_commit(lambda: publish_panel_entry(instance))
