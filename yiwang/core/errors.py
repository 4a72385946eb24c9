"""Coded domain errors raised by services and turned into HTTP 4xx at the edge."""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation. ``code`` is stable for API clients; ``message`` is for people."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field

    def as_dict(self) -> dict:
        body = {"code": self.code, "detail": self.message}
        if self.field:
            body["field"] = self.field
            body["errors"] = {self.field: [self.message]}
        return body


class IllegalTransition(DomainError):
    code = "illegal_transition"
    http_status = 409


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403


class Invalid(DomainError):
    code = "invalid"
    http_status = 400


class NotFound(DomainError):
    code = "not_found"
    http_status = 404
