"""API-key authentication for systems (REST and Open311)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from .models import ApiKey


def raw_key_from_request(request) -> str | None:
    """Header ``X-API-Key`` or ``Authorization: Api-Key …``; Open311 clients send
    ``api_key`` in the query string or the form body, so those count too."""
    header = request.META.get("HTTP_X_API_KEY")
    if header:
        return header.strip()
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if auth.lower().startswith("api-key "):
        return auth[8:].strip()
    raw = request.GET.get("api_key")
    if raw:
        return raw.strip()
    if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raw = request.POST.get("api_key")
        if raw:
            return raw.strip()
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = raw_key_from_request(request._request)
        if not raw:
            return None
        key = ApiKey.authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("API 密钥无效或已吊销")
        return key.user, key

    def authenticate_header(self, request):
        return "Api-Key"
