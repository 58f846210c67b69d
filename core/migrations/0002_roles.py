from django.db import migrations

ROLES = ("admin", "sales", "warehouse", "finance", "manager", "viewer")


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def create_company(apps, schema_editor):
    Company = apps.get_model("core", "Company")
    Company.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(create_company, migrations.RunPython.noop),
    ]
