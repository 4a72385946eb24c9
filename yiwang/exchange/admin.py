from django.contrib import admin

from .models import ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Read-only: runs are made by the import page and changed only by their job."""

    list_display = ("created_at", "file_name", "mode", "status", "created_by", "rows_total", "created", "skipped")
    list_filter = ("status", "mode")
    exclude = ("content",)
    readonly_fields = [f.name for f in ImportRun._meta.fields if f.name != "content"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
