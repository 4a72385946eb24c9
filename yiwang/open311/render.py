"""GeoReport v2 documents as XML or JSON, element for element as the spec names them.

Views build plain Python values (dicts keep the spec's element order, lists are
repeated elements); this module only turns them into bytes. In JSON a list
document is a bare array; in XML it is a root element with one child per item.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

from django.http import HttpResponse

CONTENT_TYPES = {
    "xml": "text/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
FORMATS = tuple(CONTENT_TYPES)

# A list under one of these names repeats the singular element inside it.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}

# Characters XML 1.0 forbids; free text typed on phones sometimes carries them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(data, fmt: str, *, root: str, status: int = 200) -> HttpResponse:
    """``data`` as a response in ``fmt``; ``root`` names the XML document element."""
    body = to_json(data) if fmt == "json" else to_xml(data, root)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES.get(fmt, CONTENT_TYPES["xml"]))


def to_json(data) -> str:
    return json.dumps(data, ensure_ascii=False, default=_json_default)


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_xml(data, root: str) -> str:
    element = ET.Element(root)
    _fill(element, root, data)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode")


def _fill(element: ET.Element, tag: str, value) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), key, child)
    elif isinstance(value, (list, tuple)):
        item_tag = ITEM_TAGS[tag]
        for item in value:
            _fill(ET.SubElement(element, item_tag), item_tag, item)
    else:
        element.text = _xml_text(value)


def _xml_text(value) -> str | None:
    if value is None:
        return None  # an empty element: the spec's way of saying "no value"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))
