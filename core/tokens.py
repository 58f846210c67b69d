"""simplejwt's tokens with their claims checked, and sessions that end.

A token signed with our key but carrying a claim of the wrong type (``exp`` as
a string or 1e30, a ``user_id`` that is not a UUID, a ``jti`` that is not a
string) is an invalid token, 401, like any other; simplejwt would let those
reach datetime or the database and answer 500 or 400.

Every token carries the user's ``session_generation`` (claim ``gen``), which a
password change, a deactivation or reactivation and "log out everywhere" raise
(core/models.py): from then on the user's earlier access and refresh tokens are
refused, at once, by the check that already loads the user on every request.
A user locked out after failed logins cannot refresh either."""

from __future__ import annotations

import uuid

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import router, transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import authentication, serializers, tokens
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings

from erp.permissions import user_roles

GENERATION_CLAIM = "gen"

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
    access_token_class = AccessToken  # which copies the generation claim

    @classmethod
    def for_user(cls, user):
        token = super().for_user(user)
        token[GENERATION_CLAIM] = user.session_generation
        return token


def _session_ended() -> AuthenticationFailed:
    return AuthenticationFailed(
        _("This session has ended (password changed, account deactivated, or logged out everywhere)."),
        code="token_not_valid",
    )


def check_session(token, user) -> None:
    """The token belongs to the user's current session, and the user may use it."""
    if not user.is_active or token.get(GENERATION_CLAIM) != user.session_generation:
        raise _session_ended()


# The signed-in user, with their roles and session generation, is kept in the
# shared cache so that an authenticated request costs no query for them;
# forget_user() drops it on every change (core/apps.py connects the signals),
# and the expiry bounds what a missed change could cost.
USER_CACHE_SECONDS = 300


def _user_cache_key(user_id) -> str:
    return f"core:auth-user:{user_id}"


def forget_users(user_ids) -> None:
    """Drop the cached users now and again at commit: a request in between may
    have cached a row as it was before the change committed."""
    keys = [_user_cache_key(user_id) for user_id in user_ids]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys), using=router.db_for_write(get_user_model()))


def forget_user(user_id) -> None:
    forget_users([user_id])


def forget_every_user() -> None:
    forget_users(get_user_model().objects.values_list("pk", flat=True))


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's, with the user (and roles) from the cache, refusing tokens of
    an ended session."""

    def get_user(self, validated_token):
        key = _user_cache_key(validated_token.get(api_settings.USER_ID_CLAIM))
        user = cache.get(key)
        if user is None:
            user = super().get_user(validated_token)  # 401 for an unknown or inactive user
            user_roles(user)  # loaded now, so the cached copy carries them
            cache.set(key, user, USER_CACHE_SECONDS)
        check_session(validated_token, user)
        return user


class TokenObtainPairSerializer(serializers.TokenObtainPairSerializer):
    token_class = RefreshToken


class TokenRefreshSerializer(serializers.TokenRefreshSerializer):
    token_class = RefreshToken

    def validate(self, attrs):
        try:
            refresh = self.token_class(attrs["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        user = get_user_model().objects.filter(pk=refresh.get(api_settings.USER_ID_CLAIM)).first()
        if user is None:
            raise _session_ended()
        check_session(refresh, user)
        request = self.context.get("request")
        if request is not None and AxesProxyHandler.is_locked(request, {"username": user.username}):
            raise AuthenticationFailed(
                _("This account is locked out after failed logins; log in again after the cool-off."),
                code="login_locked_out",
            )
        return super().validate(attrs)


class TokenBlacklistSerializer(serializers.TokenBlacklistSerializer):
    token_class = RefreshToken


class SessionJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of JWTAuthentication above: simplejwt's."""

    target_class = JWTAuthentication
