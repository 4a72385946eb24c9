from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def highlight(text: str, keywords) -> str:
    """``text`` escaped, with each keyword wrapped in <mark> (longest first, so overlaps keep the longer word)."""
    html = escape(text or "")
    for word in sorted({escape(k) for k in (keywords or []) if k}, key=len, reverse=True):
        html = html.replace(word, f"\x00{word}\x01")
    return mark_safe(html.replace("\x00", "<mark>").replace("\x01", "</mark>"))


@register.filter
def percent(value) -> str:
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return "—"
