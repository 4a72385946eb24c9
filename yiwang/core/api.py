"""REST plumbing shared by every app: error format, the exception handler, serializers built once."""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.utils.encoding import force_str
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.response import Response
from rest_framework.validators import ProhibitSurrogateCharactersValidator
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


@extend_schema_field(OpenApiTypes.STR)
class ChoiceLabelField(serializers.ReadOnlyField):
    """The label of a model field's choice: ``ChoiceLabelField("status")`` gives "已签收".

    The same answer as ``CharField(source="get_status_display")``, without its costs:
    for a callable source DRF runs ``inspect.signature`` on every call, to check that it
    takes no arguments (about 20 µs; an order has six labels, a list page 300), and
    Django's ``get_FOO_display`` rebuilds a dict of all the field's choices on every
    call. The value-to-label table is made once per model field here; the labels stay
    lazy, so each answer is still in the request's language.
    """

    def __init__(self, choice_field: str, **kwargs):
        self.choice_field = choice_field
        super().__init__(source="*", **kwargs)

    def to_representation(self, instance):
        field = instance._meta.get_field(self.choice_field)
        value = getattr(instance, field.attname)
        return force_str(_choice_labels(field).get(value, value), strings_only=True)


@functools.cache
def _choice_labels(field) -> dict:
    return dict(field.flatchoices)


def _copy_field(field: serializers.Field) -> serializers.Field:
    """A shallow copy of a field: ``copy.copy`` without its pickling protocol.

    ``copy.copy`` goes through ``__reduce_ex__``, ``copyreg.__newobj__`` and DRF's
    ``Field.__new__``; for the intake's answer (about 60 fields) that was a tenth of
    the request's CPU (py-spy under bench/intake_load.py). A new object with the same
    attribute dict is the same copy.
    """
    new = object.__new__(type(field))
    new.__dict__.update(field.__dict__)
    if isinstance(field, serializers.ListSerializer):  # its child is bound to it: one each
        new.child = _copy_field(field.child)
        new.child.bind(field_name="", parent=new)
    return new


class SurrogateFreeValidator(ProhibitSurrogateCharactersValidator):
    """DRF's refusal of lone surrogates (same message and code), found by one regular expression.

    DRF's own validator walks the text in a Python generator, a call of ``ord`` per
    character: 25 µs for an appeal of 200 characters, about 1% of an intake's CPU
    (bench/intake_cpu.py --real-texts). The regular expression scans in C.
    """

    _surrogate = re.compile("[\ud800-\udfff]")

    def __call__(self, value):
        found = self._surrogate.search(str(value))
        if found:
            raise serializers.ValidationError(self.message.format(code_point=ord(found.group())), code=self.code)


def _use_surrogate_free_validator(field: serializers.Field) -> None:
    """Swap DRF's surrogate check on a (template) field for SurrogateFreeValidator."""
    validators = field.__dict__.get("_validators")
    if validators:
        field.validators = [SurrogateFreeValidator() if type(v) is ProhibitSurrogateCharactersValidator else v
                            for v in validators]


def _in_default_timezone(field: serializers.Field) -> None:
    """Give a (template) DateTimeField the default time zone as its own (DRF's ``default_timezone``).

    Why: without a zone of its own, DRF asks Django for the current one for every
    value it reads or writes. Nothing here activates a zone (the district works in
    Shanghai time, ``TIME_ZONE``), so Django finds none and falls back to the default,
    and that miss in asgiref's ``Local`` raises and formats an AttributeError each
    time. A value took 9.2 µs, 3.9 µs with the zone the field's own (fastest of five
    runs of 200,000); an intake writes three, an order list one per row. The zone is
    the same one, so the answers are too (core/tests/test_api_fields.py).
    """
    if settings.USE_TZ and isinstance(field, serializers.DateTimeField) and not hasattr(field, "timezone"):
        field.timezone = timezone.get_default_timezone()


_NOT_READ = object()


class FieldsBuiltOnce:
    """A serializer whose fields are made once per class, not once per instance.

    DRF makes every field of a serializer anew for each instance: a ModelSerializer
    maps each model field again, and ``Field.__deepcopy__`` re-runs ``__init__`` for
    every declared one. For the intake (one input and one detail serializer) that was
    a third of the CPU of a request (bench/intake_cpu.py). The fields depend only on
    the class, so they are made once; an instance gets a shallow copy of each, which
    ``bind()`` then ties to it (name, parent, source) without touching the template.
    That holds for nested serializers too: a template is never bound or used, so it
    carries no per-instance state (no ``fields`` built, no data); only a list
    serializer's child is bound to its parent, and gets its own copy. The nested ones
    use this class too (org's reference serializers, assignments), so their own
    fields come from their templates. Writing an answer, it also reads each field's
    plain attribute directly (``to_representation``), and its date-times carry the
    default time zone (``_in_default_timezone``).
    """

    def to_representation(self, instance):
        """DRF's ``Serializer.to_representation``, reading a field's one plain attribute directly.

        DRF reads every field's value through ``Field.get_attribute``: a walk over its
        source's attribute path that asks, at each step, whether the object is a
        Mapping (an abstract-class check) and whether the value is a callable to call.
        For a model instance and a source of one attribute that comes to ``getattr``.
        Anything else (a dict, a dotted or ``"*"`` source, a field with its own
        ``get_attribute``, a callable value, a missing attribute) goes DRF's way, so
        the answer is DRF's (core/tests/test_api_fields.py compares them). With the
        allowed actions' table kept per status (workorders.states.actions_from), an
        order's detail took 153 µs instead of 257 (median of 60 alternating rounds over
        the same 200 new orders, in one process).
        """
        if isinstance(instance, Mapping):
            return super().to_representation(instance)
        ret = {}
        for name, field, attr in self._reading_plan():
            attribute = _NOT_READ
            if attr is not None:
                try:
                    attribute = getattr(instance, attr)
                except (AttributeError, KeyError, ObjectDoesNotExist):
                    pass  # DRF's way below decides: a default, None, or the field left out
            if attribute is _NOT_READ or callable(attribute):
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[name] = None if check_for_none is None else field.to_representation(attribute)
        return ret

    def _reading_plan(self) -> list[tuple]:
        """(name, field, the attribute to read directly or None) per readable field; once per instance."""
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = self._plan = [
                (field.field_name, field,
                 field.source_attrs[0] if len(field.source_attrs) == 1
                 and type(field).get_attribute is serializers.Field.get_attribute else None)
                for field in self._readable_fields
            ]
        return plan

    def get_fields(self):
        cls = type(self)
        template = cls.__dict__.get("_fields_template")
        if template is None:
            template = super().get_fields()
            for field in template.values():
                _use_surrogate_free_validator(field)
                _in_default_timezone(field)
            cls._fields_template = template  # a benign race: two threads build equal dicts
        return {name: _copy_field(field) for name, field in template.items()}


class KeptInput:
    """An input serializer whose fields are bound once per thread, given each request's data.

    ``with intake_input(data) as serializer:`` gives what ``IntakeSerializer(data=data)``
    gives, for one ``is_valid()`` and the reads of its validated data inside the block.
    Why: a new serializer copies and binds each of its fields before it validates a
    value; for the intake's 20 fields that was 150 µs of a 250-280 µs validation, and
    an intake took 229 µs less CPU with this (median of 60 paired rounds of 25
    intakes, the old and new code alternating in one process). A field holds nothing
    of a validation (values and errors are the serializer's), so one bound set serves
    every request of its thread; the serializer's own state (the data, the validated
    data, the errors) is set anew for each call. When the block ends normally that
    state goes, so no request's personal data stays behind in the thread; after an
    error it stays until the thread's next call, because the error's answer (and the
    browsable API's form) read it.
    """

    _STATE = ("initial_data", "_validated_data", "_errors", "_data")

    def __init__(self, serializer_class):
        self.serializer_class = serializer_class
        self._local = threading.local()  # a bound serializer is not thread-safe

    @contextlib.contextmanager
    def __call__(self, data, context: dict | None = None):
        serializer = getattr(self._local, "serializer", None)
        if serializer is None:
            serializer = self._local.serializer = self.serializer_class(data=data)
        else:
            self._forget(serializer)
            serializer.initial_data = data
        serializer._context = context or {}
        yield serializer
        self._forget(serializer)

    def _forget(self, serializer) -> None:
        for name in self._STATE:
            serializer.__dict__.pop(name, None)
        serializer._context = {}


class Representer:
    """One object's representation by a serializer whose fields are bound once per thread.

    ``represent(order, context)`` gives what ``Serializer(order, context=context).data``
    gives. Why: a new serializer binds a fresh copy of each of its fields, and of each
    nested serializer's, before it writes a single value; for the order detail (about
    65 fields) that was two fifths of the answer's CPU (bench/intake_cpu.py). A list
    does not pay it per row: DRF's ``ListSerializer`` represents every row with the one
    child serializer it bound. This does the same across requests: each thread keeps
    one bound serializer and gives it the request's context for the call. Output only:
    a serializer that validates input keeps state (``initial_data``, errors) and must
    be made per request.
    """

    def __init__(self, serializer_class):
        self.serializer_class = serializer_class
        self._local = threading.local()  # fields are bound to their serializer, which is not thread-safe

    def __call__(self, instance, context: dict) -> dict:
        serializer = getattr(self._local, "serializer", None)
        if serializer is None:
            serializer = self._local.serializer = self.serializer_class(context={})
        # Every field reads the context through its root, so setting the root's is enough.
        serializer._context = context
        try:
            return serializer.to_representation(instance)
        finally:
            serializer._context = {}  # do not keep the request alive until the next call
