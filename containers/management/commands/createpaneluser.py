"""Create or update a panel user with a role, for scripts and first-run automation."""

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from containers.roles import ROLES


class Command(BaseCommand):
    help = "Create (or update) a user with a role. The password comes from DOCKERPANEL_PASSWORD."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=[*ROLES, "none"], default="viewer")
        parser.add_argument("--skip-validation", action="store_true", help="accept a weak password (tests)")

    def handle(self, username, role, skip_validation, **options):
        password = os.environ.get("DOCKERPANEL_PASSWORD")
        if not password:
            raise CommandError("set DOCKERPANEL_PASSWORD to the new user's password")
        User = get_user_model()
        user = User.objects.filter(username=username).first() or User(username=username)
        if not skip_validation:
            try:
                validate_password(password, user)
            except ValidationError as e:
                raise CommandError(" ".join(e.messages))
        with transaction.atomic():
            user.set_password(password)
            user.is_superuser = user.is_staff = role == "admin"
            user.save()
            user.groups.set([Group.objects.get(name=role)] if role != "none" else [])
        self.stdout.write(f"{username}: {role}")
