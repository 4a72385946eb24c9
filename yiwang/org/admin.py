from django.contrib import admin

from .models import Category, Committee, RoutingRule, Street, Unit


@admin.register(Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("name", "code")


@admin.register(Committee)
class CommitteeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "street")
    list_filter = ("street",)
    search_fields = ("name", "code")


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "street", "active")
    list_filter = ("kind", "active", "street")
    search_fields = ("name", "code")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "path", "level", "active")
    list_filter = ("level", "active")
    search_fields = ("name", "path", "code")
    raw_id_fields = ("parent",)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("category", "street", "lead_unit", "lead_is_street_office", "co_street_office", "active")
    list_filter = ("active", "street", "lead_is_street_office")
    search_fields = ("category__path", "lead_unit__name")
    autocomplete_fields = ("category", "lead_unit", "co_units")
    list_select_related = ("category", "street", "lead_unit")
