"""The panel's own data: the audit log, roles' permissions and per-user preferences."""

from django.conf import settings
from django.db import models


class Panel(models.Model):
    """Holds the role permissions; no table. Groups viewer/operator/admin get these."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_panel", "See containers, images, details, inspect and logs"),
            ("operate", "Start, stop, restart, pause, kill, exec and attach"),
            ("administer", "Run, create, remove, pull, prune, deploy and manage users"),
        ]

    def __str__(self) -> str:
        return "DockerPanel"


class AuditEntry(models.Model):
    """Who did what, to what, with which parameters, and how it ended."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    target_id = models.CharField(max_length=128, blank=True)
    target_name = models.CharField(max_length=255, blank=True)
    params = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField(default=True)
    result = models.TextField(blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    # An attempt is written "in progress" before the engine call and completed once after it;
    # one left open by a server process that died is marked "interrupted" when the panel starts.
    state = models.CharField(
        max_length=16,
        default="done",
        choices=[("in progress", "in progress"), ("done", "done"), ("interrupted", "interrupted")],
    )
    # the Docker host an action was about (its name; blank for the panel's own: users, logins)
    host = models.CharField(max_length=63, blank=True, db_index=True)
    # host:pid of the server process that wrote an attempt, to tell a dead process's attempts apart
    process = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        default_permissions = ()
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.target_name or self.target_id}"

    def save(self, *args, **kwargs) -> None:
        # Written once, never edited: the log must show what happened, not what someone made of it.
        if not self._state.adding:
            raise PermissionError("audit entries cannot be edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries cannot be deleted")


class Preference(models.Model):
    """Per-user settings such as the containers table's chosen columns."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=64)
    value = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_preference_per_key")]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
