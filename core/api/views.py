from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status, viewsets
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from core import services
from core.api.serializers import (
    CompanySerializer,
    LoginSerializer,
    LogoutSerializer,
    MeSerializer,
    TokenPairSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from core.models import User
from core.tokens import TokenBlacklistSerializer
from erp.access import ADMIN_ONLY, ANY_ROLE, AUTHENTICATED, PUBLIC, Access
from erp.problems import problem_response
from erp.throttling import LoginThrottle


def lockout_response(request, response=None, credentials=None):
    """django-axes calls this once a username is locked out (429, problem+json),
    with Retry-After: the seconds until the cool-off ends."""
    locked = problem_response(
        429,
        "login_locked_out",
        _("Too many failed logins for this username; try again later."),
    )
    retry_after = services.login_seconds_until_unlocked(request, (credentials or {}).get("username"))
    if retry_after is not None:
        locked["Retry-After"] = str(retry_after)
    return locked


@extend_schema(
    tags=["auth"],
    summary="Log in: a token pair",
    description="An access token (send it as `Authorization: Bearer <access>`) and a refresh token. "
    "Too many failed logins for one username lock it out for a while: 429 with Retry-After.",
    request=LoginSerializer,
    responses={200: TokenPairSerializer},
)
class TokenView(TokenObtainPairView):
    access = PUBLIC
    # Per address (anonymous) and per username named, whatever the address.
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, LoginThrottle]

    def post(self, request, *args, **kwargs):
        # The shape first: the lockout check queries the database with the username.
        credentials = LoginSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        username = credentials.validated_data["username"]
        # Checked up front: axes flags lockouts on DRF's request wrapper, which its
        # middleware (reading Django's request) never sees.
        if AxesProxyHandler.is_locked(request, {"username": username}):
            return lockout_response(request, credentials={"username": username})
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        # A token pair is a login: last_login, and axes clears the failure count.
        user_logged_in.send(sender=type(serializer.user), request=request, user=serializer.user)
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


@extend_schema(
    tags=["auth"],
    summary="Refresh the token pair",
    description="A new access token and a new refresh token; the refresh token sent is blacklisted.",
    responses={200: TokenPairSerializer},
)
class TokenRefresh(TokenRefreshView):
    access = PUBLIC


class Logout(APIView):
    """Blacklist a refresh token; the access token then simply expires."""

    authentication_classes = ()
    access = PUBLIC
    serializer_class = LogoutSerializer

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'  # a bad refresh token is a 401, not a 403

    @extend_schema(
        tags=["auth"],
        summary="Log out",
        request=LogoutSerializer,
        responses={205: OpenApiResponse(description="Logged out")},
    )
    def post(self, request, *args, **kwargs):
        serializer = TokenBlacklistSerializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(status=status.HTTP_205_RESET_CONTENT)


class LogoutEverywhere(APIView):
    """End every session of the signed-in user: all their tokens stop working."""

    access = AUTHENTICATED

    @extend_schema(
        tags=["auth"],
        summary="Log out everywhere",
        description="Every access and refresh token of the signed-in user, this request's included, "
        "is refused from now on (401); log in again for a new pair.",
        request=None,
        responses={205: OpenApiResponse(description="Every session ended")},
    )
    def post(self, request, *args, **kwargs):
        services.end_sessions(user=request.user)
        return Response(status=status.HTTP_205_RESET_CONTENT)


@extend_schema(tags=["auth"], summary="The signed-in user")
class Me(generics.RetrieveAPIView):
    serializer_class = MeSerializer
    access = AUTHENTICATED

    def get_object(self):
        return self.request.user


@extend_schema(tags=["core"])
@extend_schema_view(
    list=extend_schema(summary="List users"),
    create=extend_schema(summary="Create a user"),
    retrieve=extend_schema(summary="Get a user"),
    update=extend_schema(summary="Replace a user"),
    partial_update=extend_schema(summary="Change a user"),
    destroy=extend_schema(
        summary="Deactivate a user", description="The user can no longer log in; the id stays valid."
    ),
)
class UserViewSet(viewsets.ModelViewSet):
    """Users and their roles (admin only). DELETE deactivates: ids stay valid."""

    queryset = User.objects.prefetch_related("groups").order_by("username")
    # A canonical UUID only: anything else is an unknown path (404), not a 400.
    lookup_value_regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    access = ADMIN_ONLY
    filterset_fields = ["is_active", "username"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering_fields = ["username", "email", "date_joined"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return UserUpdateSerializer
        return UserSerializer

    def perform_create(self, serializer):
        serializer.instance = services.user_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.user_update(
            user=serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.user_deactivate(user=instance, actor=self.request.user)


@extend_schema(tags=["core"])
@extend_schema_view(
    get=extend_schema(summary="Get the company settings"),
    patch=extend_schema(summary="Change the company settings"),
)
class CompanyView(generics.RetrieveUpdateAPIView):
    """The company's settings; everyone reads, admins change."""

    access = Access(read=ANY_ROLE, write=())
    serializer_class = CompanySerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return services.company_get()

    def perform_update(self, serializer):
        serializer.instance = services.company_update(**serializer.validated_data)
