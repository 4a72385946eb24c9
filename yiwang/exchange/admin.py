from django.contrib import admin

from .models import ExportJob, ImportRun


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


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    """Read-only, and without the file: it is for the user who asked for it only."""

    list_display = ("created_at", "created_by", "status", "rows_total", "rows_written", "finished_at")
    list_filter = ("status",)
    exclude = ("file",)
    readonly_fields = [f.name for f in ExportJob._meta.fields if f.name != "file"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
