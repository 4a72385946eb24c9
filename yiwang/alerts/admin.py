from django.contrib import admin

from .models import Alert, AlertAction


class AlertActionInline(admin.TabularInline):
    model = AlertAction
    extra = 0
    readonly_fields = ["action", "actor", "note", "data", "at"]
    can_delete = False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Read-only: alerts change through the detector and the duty officers' page, which audit them."""

    list_display = ["id", "kind", "label", "status", "ongoing", "observed", "expected", "raised_at"]
    list_filter = ["status", "kind", "ongoing"]
    search_fields = ["label", "key"]
    inlines = [AlertActionInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
