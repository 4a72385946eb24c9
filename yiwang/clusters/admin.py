"""Admin: clusters (with a button that runs the job now), decisions, governance tasks, the job's state."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path

from yiwang.accounts import roles

from . import jobs
from .models import CaseCluster, ClusterDecision, GovernanceTask, JobState, TaskEvent


@admin.register(CaseCluster)
class CaseClusterAdmin(admin.ModelAdmin):
    change_list_template = "admin/clusters/casecluster/change_list.html"
    list_display = ("id", "label", "status", "edited", "size", "heat", "street", "first_at", "last_at")
    list_filter = ("status", "edited", "street")
    search_fields = ("label", "place")
    # Decisions go through the pages (services), which store and audit them.
    readonly_fields = [f.name for f in CaseCluster._meta.fields]

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        extra = [path("run/", self.admin_site.admin_view(self.run_view), name="clusters_casecluster_run")]
        return extra + super().get_urls()

    def run_view(self, request):
        if request.method != "POST":
            return redirect("admin:clusters_casecluster_changelist")
        if not (request.user.is_superuser or request.user.role in roles.CAN_CURATE_CLUSTERS):
            raise PermissionDenied
        jobs.queue_assign()
        self.message_user(request, "已提交类案聚合任务，后台处理完成后刷新本页", messages.SUCCESS)
        return redirect("admin:clusters_casecluster_changelist")


@admin.register(ClusterDecision)
class ClusterDecisionAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "cluster", "other", "actor", "note")
    list_filter = ("kind",)
    readonly_fields = ("cluster", "other", "kind", "actor", "at", "note", "data")

    def has_add_permission(self, request):
        return False


class TaskEventInline(admin.TabularInline):
    model = TaskEvent
    extra = 0
    readonly_fields = ("from_status", "to_status", "actor", "at", "note")
    can_delete = False


@admin.register(GovernanceTask)
class GovernanceTaskAdmin(admin.ModelAdmin):
    list_display = ("title", "cluster", "owner_unit", "status", "deadline", "opened_at")
    list_filter = ("status", "owner_unit")
    readonly_fields = ("cluster", "status", "opened_by", "opened_at", "started_at", "done_at", "deadline")
    inlines = [TaskEventInline]

    def has_add_permission(self, request):
        return False


@admin.register(JobState)
class JobStateAdmin(admin.ModelAdmin):
    list_display = ("key", "watermark", "last_run_at")
    readonly_fields = ("key", "watermark", "last_run_at", "last_stats")
