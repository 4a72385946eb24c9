"""What the GeoReport v2 spec says each document looks like, as checks.

Shared by the tests and ``bench/open311_conformance.py``: JSON documents are
validated against the JSON schemas in ``schemas/``; XML documents are checked
element by element (root, item element, child elements in the spec's order,
value shapes). Each check returns a list of problems; empty means conformant.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import jsonschema

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# Document kind -> (root element, item element or None for a single object, child elements in order).
SERVICE = ("service_code", "service_name", "description", "metadata", "type", "keywords", "group")
REQUEST = (
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
)
CREATED = ("service_request_id", "service_notice", "account_id")
ERROR = ("code", "description")
DISCOVERY = ("changeset", "contact", "key_service", "endpoints")
ENDPOINT = ("specification", "url", "changeset", "type", "formats")

XML_SHAPES = {
    "services": ("services", "service", SERVICE),
    "service_definition": ("service_definition", None, ("service_code", "attributes")),
    "service_requests": ("service_requests", "request", CREATED),
    "requests": ("service_requests", "request", REQUEST),
    "errors": ("errors", "error", ERROR),
    "discovery": ("discovery", None, DISCOVERY),
}


@cache
def schema(kind: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{kind}.json").read_text(encoding="utf-8"))


def check_json(kind: str, data) -> list[str]:
    validator = jsonschema.Draft7Validator(schema(kind))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(data)]


def check_xml(kind: str, text: str | bytes) -> list[str]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    root_tag, item_tag, children = XML_SHAPES[kind]
    if root.tag != root_tag:
        return [f"root element is <{root.tag}>, expected <{root_tag}>"]
    items = [root] if item_tag is None else list(root)
    problems = [f"<{root_tag}> holds <{el.tag}>, expected <{item_tag}>" for el in items if item_tag and el.tag != item_tag]
    for index, item in enumerate(items):
        tags = tuple(child.tag for child in item)
        if tags != children:
            problems.append(f"{item.tag}[{index}] children {list(tags)}, expected {list(children)}")
            continue
        problems += [f"{item.tag}[{index}]/{p}" for p in _xml_values(kind, item)]
    return problems


def _xml_values(kind: str, item: ET.Element) -> list[str]:
    text = {child.tag: (child.text or "") for child in item}
    problems = []
    if kind == "services":
        if text["metadata"] not in ("true", "false"):
            problems.append(f"metadata is {text['metadata']!r}, expected true or false")
        if text["type"] not in ("realtime", "batch", "blackbox"):
            problems.append(f"type is {text['type']!r}")
    elif kind == "requests":
        if text["status"] not in ("open", "closed"):
            problems.append(f"status is {text['status']!r}, expected open or closed")
        for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
            if (text[name] or name == "requested_datetime") and not W3C_DATETIME.match(text[name]):
                problems.append(f"{name} {text[name]!r} is not a W3C date-time with offset")
    elif kind == "errors":
        if not text["code"].isdigit():
            problems.append(f"code {text['code']!r} is not a number")
    elif kind == "service_definition":
        attributes = item.find("attributes")
        problems += [f"attributes holds <{el.tag}>" for el in attributes if el.tag != "attribute"]
    elif kind == "discovery":
        for endpoint in item.find("endpoints"):
            tags = tuple(child.tag for child in endpoint)
            if endpoint.tag != "endpoint" or tags != ENDPOINT:
                problems.append(f"<{endpoint.tag}> children {list(tags)}, expected <endpoint> with {list(ENDPOINT)}")
            elif any(f.tag != "format" for f in endpoint.find("formats")):
                problems.append("formats holds an element other than <format>")
    return problems


def check(kind: str, fmt: str, body: bytes | str) -> list[str]:
    if fmt == "json":
        try:
            data = json.loads(body)
        except ValueError as exc:
            return [f"not JSON: {exc}"]
        return check_json(kind, data)
    return check_xml(kind, body)
