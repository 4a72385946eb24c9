from django.contrib import admin

from django.contrib import messages

from .models import AuditEntry, CalendarDay, calendar_gaps


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"
    search_fields = ("name",)

    def changelist_view(self, request, extra_context=None):
        for year in calendar_gaps():
            messages.warning(
                request,
                f"{year} 年的节假日尚未录入，日历库也不包含该年：期限暂按周一至周五（除 1/1、5/1、10/1-3）计算。"
                "请按国务院办公厅通知录入放假和调休日期，然后运行 recompute_deadlines。",
            )
        return super().changelist_view(request, extra_context)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_id", "summary", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "summary", "actor__username")
    date_hierarchy = "created_at"

    # The trail is evidence: nobody edits or deletes it through the admin.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
