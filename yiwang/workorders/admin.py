from django.contrib import admin

from .models import SlaRule


@admin.register(SlaRule)
class SlaRuleAdmin(admin.ModelAdmin):
    list_display = ("appeal_type", "urgency", "sign_hours", "handle_hours", "warn_ratio")
    list_filter = ("appeal_type", "urgency")
    list_editable = ("sign_hours", "handle_hours", "warn_ratio")

# Work orders themselves are not edited in the admin: every change must go
# through the services so it is checked, evented and audited.
