from django.contrib import admin

from .models import ChecklistForm, ChecklistVersion, Inspection, InspectionInterval, Rectification


@admin.register(InspectionInterval)
class InspectionIntervalAdmin(admin.ModelAdmin):
    list_display = ["risk_grade", "months", "rectify_days", "critical_rectify_days"]
    list_editable = ["months", "rectify_days", "critical_rectify_days"]


@admin.register(ChecklistForm)
class ChecklistFormAdmin(admin.ModelAdmin):
    list_display = ["form_id", "title", "active"]
    list_editable = ["active"]


@admin.register(ChecklistVersion)
class ChecklistVersionAdmin(admin.ModelAdmin):
    list_display = ["form", "number", "label", "item_count", "uploaded_by", "uploaded_at"]
    readonly_fields = [f.name for f in ChecklistVersion._meta.fields]
    exclude = ["source"]

    def has_add_permission(self, request):
        return False  # uploads go through the checklist page, which parses and validates them


@admin.register(Inspection)
class InspectionAdmin(admin.ModelAdmin):
    list_display = ["space", "kind", "inspected_on", "score", "colour", "passed"]
    list_filter = ["kind", "colour"]
    readonly_fields = [f.name for f in Inspection._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Rectification)
class RectificationAdmin(admin.ModelAdmin):
    list_display = ["space", "item_label", "status", "deadline", "overdue"]
    list_filter = ["status", "overdue"]
    readonly_fields = [f.name for f in Rectification._meta.fields]

    def has_add_permission(self, request):
        return False
