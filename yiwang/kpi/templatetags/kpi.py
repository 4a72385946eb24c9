from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from yiwang.kpi.selectors import BY

register = template.Library()


@register.filter
def by_label(value: str) -> str:
    return BY.get(value, value)


@register.simple_tag
def kpi_cell(row: dict, code: str):
    """One KPI as "rate (num/den)", or a dash when nothing was counted."""
    k = row[code]
    if k["rate"] is None:
        return mark_safe('<td class="kpi-none">—</td>')
    return format_html('<td title="{} / {}">{}<small> ({}/{})</small></td>',
                       k["num"], k["den"], f"{k['rate'] * 100:.1f}%", k["num"], k["den"])
