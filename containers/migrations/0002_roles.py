"""The three roles as groups, each with its permissions (a role includes the ones below it)."""

from django.db import migrations

GRANTS = {
    "viewer": ["view_panel"],
    "operator": ["view_panel", "operate"],
    "admin": ["view_panel", "operate", "administer"],
}
NAMES = {
    "view_panel": "See containers, images, details, inspect and logs",
    "operate": "Start, stop, restart, pause, kill, exec and attach",
    "administer": "Run, create, remove, pull, prune, deploy and manage users",
}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # post_migrate has not created the permissions yet on a fresh database: make them here.
    ct, _ = ContentType.objects.get_or_create(app_label="containers", model="panel")
    perms = {
        code: Permission.objects.get_or_create(content_type=ct, codename=code, defaults={"name": name})[0]
        for code, name in NAMES.items()
    }
    for role, codes in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(perms[c] for c in codes))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GRANTS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("containers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
