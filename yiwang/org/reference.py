"""Loading the shipped reference data: streets and committees (NBS 2023 codes,
from the MIT-licensed china-division data set), handling units, the official
three-level taxonomy and default routing rules. Idempotent: run it again and
nothing is duplicated; admins' later edits to existing rows are kept."""

from __future__ import annotations

import csv
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def _rows(name: str):
    with open(DATA / name, encoding="utf-8-sig", newline="") as f:
        yield from csv.DictReader(f)


def load_reference_data(apps=None) -> None:
    get = (lambda m: apps.get_model("org", m)) if apps else _live_model
    Street, Committee, Unit, Category, RoutingRule = (
        get(m) for m in ("Street", "Committee", "Unit", "Category", "RoutingRule")
    )
    streets = {}
    for row in _rows("streets.csv"):
        streets[row["code"]], _ = Street.objects.get_or_create(code=row["code"], defaults={"name": row["name"].removesuffix("街道")})
    for row in _rows("committees.csv"):
        Committee.objects.get_or_create(
            code=row["code"], defaults={"name": row["name"], "street": streets[row["street_code"]]}
        )
    units = {}
    for row in _rows("units.csv"):
        units[row["code"]], _ = Unit.objects.get_or_create(
            code=row["code"],
            defaults={"name": row["name"], "kind": row["kind"], "street": streets.get(row["street_code"])},
        )
    by_path = _load_taxonomy(Category)
    for row in _rows("routing.csv"):
        category = by_path[row["category"]]
        if RoutingRule.objects.filter(category=category, street__isnull=True).exists():
            continue
        lead = row["lead_unit"]
        rule = RoutingRule.objects.create(
            category=category,
            lead_unit=None if lead == "@street" else units[lead],
            lead_is_street_office=lead == "@street",
            co_street_office=row["co_units"] == "@street",
        )
        if row["co_units"] and row["co_units"] != "@street":
            rule.co_units.set([units[c] for c in row["co_units"].split(";")])


def _load_taxonomy(Category) -> dict:
    """Codes are positional (2+2+3 digits) in the order of the official list."""
    by_path = {c.path: c for c in Category.objects.all()}
    index: dict[str, str] = {}
    counters: dict[str, int] = {}

    def node(path: str, name: str, level: int, parent):
        if path in by_path:
            index[path] = by_path[path].code
            return by_path[path]
        parent_code = index[parent.path] if parent else ""
        counters[parent_code] = counters.get(parent_code, 0) + 1
        width = 3 if level == 3 else 2
        code = parent_code + str(counters[parent_code]).zfill(width)
        obj = Category.objects.create(code=code, name=name, level=level, parent=parent, path=path)
        by_path[path] = obj
        index[path] = code
        return obj

    for row in _rows("category_taxonomy.csv"):
        l1, l2, l3 = row["一级分类"].strip(), row["二级分类"].strip(), row["三级分类"].strip()
        a = node(l1, l1, 1, None)
        b = node(f"{l1}/{l2}", l2, 2, a)
        node(f"{l1}/{l2}/{l3}", l3, 3, b)
    return by_path


def _live_model(name):
    from django.apps import apps as live

    return live.get_model("org", name)
