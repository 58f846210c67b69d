"""Demo users for the quick start: an admin and one user per role, each with a
fresh random password printed once. Re-running resets those passwords."""

import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from core import services
from core.models import User
from erp.permissions import ROLES


def _password() -> str:
    return f"{secrets.token_urlsafe(9)}-Aa1"


class Command(BaseCommand):
    help = "Create (or reset) the demo admin and one demo user per role; print their passwords."

    @transaction.atomic
    def handle(self, *args, **options):
        rows = []
        for role in ROLES:
            username = "admin" if role == "admin" else f"demo_{role}"
            password = _password()
            existing = User.objects.filter(username=username).first()
            if existing is None:
                user = services.user_create(
                    username=username, password=password, roles=[role], email=f"{username}@example.com"
                )
            else:
                user = services.user_update(user=existing, actor=None, password=password, roles=[role])
            if role == "admin" and not (user.is_staff and user.is_superuser):
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            rows.append((username, role, password))
        self.stdout.write("Demo users (passwords change on every run):")
        for username, role, password in rows:
            self.stdout.write(f"  {username:<16} {role:<10} {password}")
