"""Resolving routing rules for an appeal (reads only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from .models import Category, RoutingRule, Street, Unit


@dataclass
class Route:
    lead_unit: Unit | None
    co_units: list[Unit] = field(default_factory=list)
    rule: RoutingRule | None = None


def street_office(street: Street | None) -> Unit | None:
    if street is None:
        return None
    return Unit.objects.filter(kind=Unit.Kind.STREET, street=street, active=True).first()


def route_for(category: Category | None, street: Street | None) -> Route:
    """The lead unit and co-units the rules give; an empty route when none applies."""
    if category is None:
        return Route(lead_unit=None)
    lineage = category.lineage()
    rules = (
        RoutingRule.objects.filter(category__in=lineage, active=True)
        .filter(_any_or_this_street(street))
        .select_related("lead_unit")
        .prefetch_related("co_units")
    )
    depth = {c.pk: i for i, c in enumerate(lineage)}
    ranked = sorted(rules, key=lambda r: (depth[r.category_id], r.street_id is None))
    for rule in ranked:
        office = street_office(street) if (rule.lead_is_street_office or rule.co_street_office) else None
        lead = office if rule.lead_is_street_office else rule.lead_unit
        if lead is None:
            continue  # a street-office rule cannot apply to an appeal without a street
        co = [u for u in rule.co_units.all() if u.active and u != lead]
        if rule.co_street_office and office and office != lead and office not in co:
            co.append(office)
        return Route(lead_unit=lead, co_units=co, rule=rule)
    return Route(lead_unit=None)


def _any_or_this_street(street: Street | None) -> Q:
    q = Q(street__isnull=True)
    if street is not None:
        q |= Q(street=street)
    return q
