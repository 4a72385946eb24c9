"""Middleware of our own, and Django's where it does work a request does not need."""

from __future__ import annotations

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.contrib.messages import middleware as messages_middleware
from django.contrib.messages.storage import default_storage
from django.middleware import locale
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject, empty


def release_request(get_response):
    """Free a request's objects when its response is closed, not at a later garbage collection.

    Why: Django and DRF tie a request's objects into reference cycles, which reference
    counting cannot free: the request holds ``auser`` (a partial of itself) and its
    message storage (which holds the request); a DRF view holds its request, its
    response and its own bound handlers; the DRF request's parser context holds that
    request, and the response's renderer context holds the response. So every API call
    left about 130 objects for the cyclic garbage collector (an intake 172 with its
    input serializer, now bound once per thread: ``core.api.KeptInput``), and the
    collections that freed them held the GIL, stalling every other thread of the
    process: under 32 clients, 2.2 s of collections per 20 s run, single pauses up to
    80 ms (bench/intake_load.py). Emptying those objects once the WSGI server has
    closed the response (PEP 3333: the last thing it does with a response) breaks the
    cycles, and reference counting frees everything at once.

    Outermost in ``MIDDLEWARE``, so every other middleware has finished with the
    request when the closer runs. Django sends ``request_finished`` after the closers,
    and its receivers do not take the request.
    """

    def middleware(request):
        response = get_response(request)
        response._resource_closers.append(lambda: _release(request, response))
        return response

    return middleware


def _release(request, response) -> None:
    # A DRF response's renderer context holds its view, its DRF request and the response itself.
    context = getattr(response, "renderer_context", None) or {}
    for obj in (context.get("view"), context.get("request"), request):
        if obj is not None:
            obj.__dict__.clear()
    context.clear()


class LocaleMiddleware(locale.LocaleMiddleware):
    """Django's, without its search for a language code in the path where no URL is under
    ``i18n_patterns`` (none of ours is), so the answer cannot change anything.

    Why: Django takes the path's first segment ("api", "dispatch", "public") for a
    candidate language code on every request, twice. The lookup it calls keeps its
    answers in an ``lru_cache``, but a segment that is no language ends in LookupError,
    which the cache does not keep, so each request redid the whole search: about half
    of this middleware's 80 µs per request (bench/middleware_cpu.py).
    """

    def process_request(self, request):
        if self._prefixed_paths(request):
            return super().process_request(request)
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        if self._prefixed_paths(request):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response

    @staticmethod
    def _prefixed_paths(request) -> bool:
        return is_language_prefix_patterns_used(getattr(request, "urlconf", settings.ROOT_URLCONF))[0]


class MessageMiddleware(messages_middleware.MessageMiddleware):
    """Django's, with a request's message storage made when something first uses it.

    Why: Django makes the storage for every request (FallbackStorage: a cookie storage
    with its signer and a session storage, their classes looked up by import path each
    time), about 25 µs, and an API call or a page that neither adds nor shows a message
    never touches it. Adding and reading messages work as before, through the proxy.
    """

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        storage = getattr(request, "_messages", None)
        if isinstance(storage, SimpleLazyObject) and storage._wrapped is empty:
            return response  # never used, so nothing to store
        return super().process_response(request, response)
