"""The register in the admin, with simple_history's change-history view on every row."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Space, SpaceReport, UsingUnit


@admin.register(UsingUnit)
class UsingUnitAdmin(SimpleHistoryAdmin):
    list_display = ("name", "credit_code")
    search_fields = ("name", "credit_code")
    filter_horizontal = ("users",)


@admin.register(Space)
class SpaceAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "street", "space_type", "risk_grade", "using_unit", "active")
    list_filter = ("street", "space_type", "risk_grade", "civil_defence_grade", "active")
    search_fields = ("code", "name", "address", "using_unit__name")
    list_select_related = ("street", "using_unit")
    autocomplete_fields = ("using_unit",)
    history_list_display = ("risk_grade", "using_unit")


@admin.register(SpaceReport)
class SpaceReportAdmin(admin.ModelAdmin):
    list_display = ("space", "order", "created_at")
    list_select_related = ("space", "order")
    search_fields = ("space__code", "order__number")
    readonly_fields = ("space", "order", "created_at")

    def has_add_permission(self, request):
        return False  # reports come from the public page only
