from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.models import Company, User
from erp.permissions import ROLES


def roles_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.ChoiceField(choices=ROLES), **kwargs)


class MeSerializer(serializers.Serializer):
    """Declared field by field, not a ModelSerializer: it runs on every
    GET /auth/me/, and a ModelSerializer builds its fields from the model each time."""

    id = serializers.UUIDField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    roles = roles_field(read_only=True)


class UserSerializer(serializers.ModelSerializer):
    roles = roles_field(required=False, help_text=_("Role names (Django groups)."))
    password = serializers.CharField(
        write_only=True, required=True, style={"input_type": "password"}, max_length=128
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "is_active",
            "roles",
            "password",
            "date_joined",
            "last_login",
        ]
        read_only_fields = ["id", "date_joined", "last_login"]
        # Uniqueness is checked case-insensitively by the service (409).
        extra_kwargs = {"username": {"validators": []}}


class UserUpdateSerializer(UserSerializer):
    password = serializers.CharField(write_only=True, required=False, max_length=128)


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["name", "tax_id", "base_currency", "timezone"]


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class LoginSerializer(serializers.Serializer):
    """What a login must look like before anything looks the user up."""

    username = serializers.CharField(max_length=User._meta.get_field("username").max_length)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()
