"""``{% load exchange %}``: whether to offer the import page to the signed-in user."""

from django import template

from yiwang.exchange.services import may_import as _may_import

register = template.Library()


@register.filter
def may_import(user) -> bool:
    return _may_import(user)
