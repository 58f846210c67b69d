"""Create (or reuse) the benchmark user; run in a subprocess with Django configured.

``python -m bench.http_baseline.ensure_user`` reads the username, role and password
from BENCH_USERNAME, BENCH_ROLE and BENCH_PASSWORD (environment, so the password is
not on a command line). An existing user keeps its id and gets the new password and
the role; a new one is created through ``core.services.user_create``.
"""

import os

import django


def main() -> None:
    django.setup()
    from django.contrib.auth.models import Group

    from core import services
    from core.models import User

    username = os.environ["BENCH_USERNAME"]
    password = os.environ["BENCH_PASSWORD"]
    role = os.environ["BENCH_ROLE"]
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        services.user_create(username=username, password=password, roles=[role])
        print(f"created user {username} with role {role}")
        return
    # The password of an earlier run is not kept anywhere: set this run's.
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    user.groups.add(Group.objects.get(name=role))
    print(f"reused user {username} (role {role} ensured, password reset)")


if __name__ == "__main__":
    main()
