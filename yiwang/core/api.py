"""REST plumbing shared by every app: error format and the exception handler."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError


def exception_handler(exc, context):
    """Domain errors become 4xx with a stable code and field messages.

    DRF's own validation errors keep their field -> messages shape, wrapped
    with a code so clients can always read ``code`` and ``detail``.
    """
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.http_status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if response.status_code == status.HTTP_400_BAD_REQUEST and isinstance(data, dict) and "detail" not in data:
        response.data = {"code": "invalid", "detail": "请求数据有误，请检查各字段。", "errors": data}
    elif isinstance(data, dict) and "detail" in data:
        code = getattr(data["detail"], "code", None) or "error"
        response.data = {"code": code, "detail": str(data["detail"])}
    elif isinstance(data, list):
        response.data = {"code": "invalid", "detail": "; ".join(str(d) for d in data), "errors": {"non_field_errors": data}}
    return response
