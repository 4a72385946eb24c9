from django import template

from yiwang.reports import fmt

register = template.Library()


@register.filter
def pct(value):
    return fmt.pct(value)


@register.filter
def signed_pct(value):
    return fmt.signed_pct(value)


@register.filter
def points(value):
    return fmt.points(value)


@register.filter
def kpi_rate(row: dict, code: str) -> str:
    """One KPI of a selectors.kpis row as a percentage."""
    return fmt.pct(row[code]["rate"])
