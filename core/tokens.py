"""simplejwt's tokens with their claims checked: a token signed with our key
but carrying a claim of the wrong type (``exp`` as a string or 1e30, a
``user_id`` that is not a UUID, a ``jti`` that is not a string) is an invalid
token, 401, like any other; simplejwt would let those reach datetime or the
database and answer 500 or 400."""

from __future__ import annotations

import uuid

from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt import serializers, tokens
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings

_MAX_JTI_LENGTH = 255  # the blacklist's column


class _CheckedClaims:
    """Mixed in before a simplejwt token class."""

    payload: dict

    def verify(self) -> None:
        self._check_claim_types()
        try:
            super().verify()
        except (TypeError, ValueError, OverflowError) as exc:  # a time claim datetime cannot take
            raise TokenError(_("Token has a malformed claim")) from exc

    def _check_claim_types(self) -> None:
        payload = self.payload
        for claim in ("exp", "iat"):
            value = payload.get(claim)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise TokenError(_("Token has a malformed claim"))
        user_id = payload.get(api_settings.USER_ID_CLAIM)
        if user_id is not None and not _is_uuid(user_id):
            raise TokenError(_("Token has a malformed claim"))
        jti = payload.get(api_settings.JTI_CLAIM)
        if jti is not None and not (isinstance(jti, str) and len(jti) <= _MAX_JTI_LENGTH):
            raise TokenError(_("Token has a malformed claim"))


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class AccessToken(_CheckedClaims, tokens.AccessToken):
    pass


class RefreshToken(_CheckedClaims, tokens.RefreshToken):
    access_token_class = AccessToken


class TokenObtainPairSerializer(serializers.TokenObtainPairSerializer):
    token_class = RefreshToken


class TokenRefreshSerializer(serializers.TokenRefreshSerializer):
    token_class = RefreshToken


class TokenBlacklistSerializer(serializers.TokenBlacklistSerializer):
    token_class = RefreshToken
