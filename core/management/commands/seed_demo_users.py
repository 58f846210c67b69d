"""Demo users for the quick start: an admin and one user per role
(``manage.py seed_demo_users``; vendas' ``seed_demo``, which ``make run`` runs,
starts with it).

Only missing users are created, each with a fresh random password that is
printed once and kept in a local credentials file (mode 0600, git-ignored); an
existing user is never touched, so running ``make run`` again does not reset
passwords someone is using. Later runs say where the credentials are kept."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from core import services
from core.models import User
from erp.db import atomic
from erp.permissions import ADMIN, ROLES

CREDENTIALS_FILE = ".demo-credentials"
_HEADER = (
    "# Demo users created by `manage.py seed_demo_users` (make run): username role password.\n"
    "# Change a password with `manage.py changepassword <username>`; this file is not updated then.\n"
)


def _password() -> str:
    return f"{secrets.token_urlsafe(9)}-Aa1"


def demo_username(role: str) -> str:
    return "admin" if role == ADMIN else f"demo_{role}"


def read_credentials(path: Path) -> dict[str, tuple[str, str]]:
    """username -> (role, password) as kept in the credentials file."""
    if not path.is_file():
        return {}
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            username, role, password = line.split()
            entries[username] = (role, password)
    return entries


def _write_credentials(path: Path, entries: dict[str, tuple[str, str]]) -> None:
    """Replace the file atomically, readable by its owner only."""
    temporary = path.with_name(f"{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(_HEADER)
        for username, (role, password) in entries.items():
            file.write(f"{username} {role} {password}\n")
    os.chmod(temporary, 0o600)  # the mode given to os.open is masked by the umask
    os.replace(temporary, path)


class Command(BaseCommand):
    help = (
        "Create the missing demo users (an admin and one per role) with fresh passwords, print them "
        "and keep them in a local credentials file. Existing users are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--credentials-file",
            type=Path,
            default=Path(settings.BASE_DIR) / CREDENTIALS_FILE,
            help=f"Where the created users' passwords are kept (default: <project>/{CREDENTIALS_FILE}).",
        )

    def handle(self, *args, credentials_file: Path, **options):
        with atomic("core"):
            created = self._create_missing()
            if created:
                # Inside the transaction: users whose password could not be kept are not created.
                entries = read_credentials(credentials_file)
                entries.update({username: (role, password) for username, role, password in created})
                _write_credentials(credentials_file, entries)
        shown = self._shown(credentials_file)
        if created:
            self.stdout.write(f"Demo users created (passwords also kept in {shown}):")
            for username, role, password in created:
                self.stdout.write(f"  {username:<16} {role:<10} {password}")
        else:
            kept = f"kept in {shown}" if credentials_file.is_file() else "not kept here (no credentials file)"
            self.stdout.write(f"Demo users already exist; their passwords were not changed and are {kept}.")

    def _create_missing(self) -> list[tuple[str, str, str]]:
        created = []
        existing = set(
            User.objects.filter(username__in=[demo_username(r) for r in ROLES]).values_list(
                "username", flat=True
            )
        )
        for role in ROLES:
            username = demo_username(role)
            if username in existing:
                continue
            password = _password()
            user = services.user_create(
                username=username, password=password, roles=[role], email=f"{username}@example.com"
            )
            if role == ADMIN:
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            created.append((username, role, password))
        return created

    @staticmethod
    def _shown(path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)
