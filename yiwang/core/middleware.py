"""Middleware of our own, for every request."""

from __future__ import annotations


def release_request(get_response):
    """Free a request's objects when its response is closed, not at a later garbage collection.

    Why: Django and DRF tie a request's objects into reference cycles, which reference
    counting cannot free: the request holds ``auser`` (a partial of itself) and its
    message storage (which holds the request); a DRF view holds its request, its
    response and its own bound handlers; the DRF request's parser context holds that
    request, and the response's renderer context holds the response. So every API call
    left about 130 objects for the cyclic garbage collector (an intake 172 with its
    input serializer, now bound once per thread: ``core.api.KeptInput``), and the collections that freed them held
    the GIL, stalling every other thread of the process: under 32 clients, 2.2 s of
    collections per 20 s run, single pauses up to 80 ms (bench/intake_load.py). Emptying
    those objects once the WSGI server has closed the response (PEP 3333: the last thing
    it does with a response) breaks the cycles, and reference counting frees everything
    at once.

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
