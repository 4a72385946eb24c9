"""REST endpoints for the asking user: who am I, and a token for username + password."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.response import Response
from rest_framework.views import APIView

from yiwang.core.api import ChoiceLabelField
from yiwang.org.api import UnitRefSerializer

from .models import User


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents the ``X-API-Key`` header in the OpenAPI document."""

    target_class = "yiwang.accounts.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


class MeSerializer(serializers.ModelSerializer):
    role_label = ChoiceLabelField("role")
    unit = UnitRefSerializer(read_only=True)
    sees_personal_data = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "role", "role_label", "unit", "is_superuser", "sees_personal_data"]


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    user = MeSerializer()


class MeView(APIView):
    """The authenticated user, their role and unit."""

    @extend_schema(responses=MeSerializer, operation_id="me_retrieve")
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class ObtainTokenView(APIView):
    """Exchange a username and password for the user's API token (sent as ``Authorization: Token …``)."""

    # Credentials are the authentication here; a stale session must not trigger CSRF checks.
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=AuthTokenSerializer, responses=TokenResponseSerializer, operation_id="auth_token_create")
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "user": MeSerializer(user).data})


urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
]
