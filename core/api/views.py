from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenBlacklistSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from core import services
from core.api.serializers import (
    CompanySerializer,
    LogoutSerializer,
    MeSerializer,
    TokenPairSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from core.models import User
from erp.problems import problem_response


def lockout_response(request, response=None, credentials=None):
    """django-axes calls this once a username is locked out (429, problem+json)."""
    return problem_response(
        429,
        "login_locked_out",
        _("Too many failed logins for this username; try again later."),
    )


@extend_schema(tags=["auth"], responses={200: TokenPairSerializer})
class TokenView(TokenObtainPairView):
    def post(self, request, *args, **kwargs):
        # Checked up front: axes flags lockouts on DRF's request wrapper, which its
        # middleware (reading Django's request) never sees.
        username = request.data.get("username") if isinstance(request.data, dict) else None
        if username and AxesProxyHandler.is_locked(request, {"username": username}):
            return lockout_response(request)
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        # A token pair is a login: last_login, and axes clears the failure count.
        user_logged_in.send(sender=type(serializer.user), request=request, user=serializer.user)
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


@extend_schema(tags=["auth"], responses={200: TokenPairSerializer})
class TokenRefresh(TokenRefreshView):
    pass


class Logout(APIView):
    """Blacklist a refresh token; the access token then simply expires."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    serializer_class = LogoutSerializer

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'  # a bad refresh token is a 401, not a 403

    @extend_schema(
        tags=["auth"], request=LogoutSerializer, responses={205: OpenApiResponse(description="Logged out")}
    )
    def post(self, request, *args, **kwargs):
        serializer = TokenBlacklistSerializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(status=status.HTTP_205_RESET_CONTENT)


@extend_schema(tags=["auth"])
class Me(generics.RetrieveAPIView):
    serializer_class = MeSerializer
    permission_classes = (IsAuthenticated,)

    def get_object(self):
        return self.request.user


@extend_schema(tags=["core"])
class UserViewSet(viewsets.ModelViewSet):
    """Users and their roles (admin only). DELETE deactivates: ids stay valid."""

    queryset = User.objects.prefetch_related("groups").order_by("username")
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    read_roles = ("admin",)
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
class CompanyView(generics.RetrieveUpdateAPIView):
    """The company's settings; everyone reads, admins change."""

    serializer_class = CompanySerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return services.company_get()

    def perform_update(self, serializer):
        serializer.instance = services.company_update(**serializer.validated_data)
