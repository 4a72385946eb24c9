"""Our versions of Django's locale and message middleware answer exactly as Django's do.

Each case runs the same request through Django's class and ours, around the same view,
and compares what a client or the view can see: the language chosen, the response's
headers and the message cookies.
"""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.test import RequestFactory
from django.utils import translation
from django.utils.functional import empty

from yiwang.core.middleware import LocaleMiddleware, MessageMiddleware

factory = RequestFactory()


def _language_view(request):
    return HttpResponse(f"{request.LANGUAGE_CODE} {translation.get_language()}")


LOCALE_CASES = [
    ("/api/v1/workorders/", {}),
    ("/api/v1/workorders/", {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}),
    ("/dispatch/", {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}),
    ("/en/", {"HTTP_ACCEPT_LANGUAGE": "fr"}),
    ("/zh-hans/public/", {"HTTP_COOKIE": "django_language=en"}),
    ("/public/", {"HTTP_COOKIE": "django_language=xx", "HTTP_ACCEPT_LANGUAGE": "en"}),
]


@pytest.mark.parametrize(("path", "headers"), LOCALE_CASES)
def test_locale_middleware_chooses_and_answers_as_djangos(path, headers):
    answers = []
    for middleware_class in (DjangoLocaleMiddleware, LocaleMiddleware):
        try:
            response = middleware_class(_language_view)(factory.get(path, **headers))
        finally:
            translation.deactivate()
        answers.append((response.content, response["Content-Language"], response["Vary"]))
    assert answers[0] == answers[1]


@pytest.mark.parametrize(("path", "headers"), LOCALE_CASES)
def test_locale_middleware_defers_to_django_under_i18n_patterns(path, headers):
    answers = []
    for middleware_class in (DjangoLocaleMiddleware, LocaleMiddleware):
        request = factory.get(path, **headers)
        request.urlconf = "yiwang.core.tests.i18n_urls"
        try:
            response = middleware_class(_language_view)(request)
        finally:
            translation.deactivate()
        answers.append((response.status_code, response.content, response.get("Location"),
                        response.get("Content-Language"), response.get("Vary")))
    assert answers[0] == answers[1]


def _with_session(middleware_class, view):
    return SessionMiddleware(middleware_class(view))


def _add_message(request):
    messages.success(request, "已派单")
    return HttpResponse("added")


def _show_messages(request):
    return HttpResponse(" ".join(str(m) for m in messages.get_messages(request)))


def _no_messages(request):
    return HttpResponse("nothing")


@pytest.mark.django_db
def test_message_middleware_stores_and_shows_messages_as_djangos():
    answers = []
    for middleware_class in (DjangoMessageMiddleware, MessageMiddleware):
        added = _with_session(middleware_class, _add_message)(factory.post("/dispatch/"))
        cookie = added.cookies["messages"].value
        later = factory.get("/dispatch/", HTTP_COOKIE=f"messages={cookie}")
        shown = _with_session(middleware_class, _show_messages)(later)
        answers.append((cookie, shown.content, shown.cookies["messages"].value, shown.cookies["messages"]["max-age"]))
    assert answers[0] == answers[1]
    assert answers[1][1] == "已派单".encode()
    assert answers[1][2] == ""  # shown, so the cookie is cleared


@pytest.mark.django_db
def test_message_storage_is_made_only_when_used():
    seen = {}

    def view(request):
        seen["request"] = request
        return HttpResponse("nothing")

    response = _with_session(MessageMiddleware, view)(factory.get("/api/v1/workorders/"))
    assert seen["request"]._messages._wrapped is empty
    assert "messages" not in response.cookies
    django_response = _with_session(DjangoMessageMiddleware, _no_messages)(factory.get("/api/v1/workorders/"))
    assert "messages" not in django_response.cookies
