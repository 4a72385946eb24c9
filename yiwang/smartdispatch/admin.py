"""Admin: model versions (train, activate, roll back), settings, the gazetteer, suggestions and feedback."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse

from yiwang.accounts import roles
from yiwang.core.errors import DomainError

from . import jobs, services
from .models import DispatchFeedback, DispatchSettings, DispatchSuggestion, ModelVersion, Place


def _may_manage(user) -> bool:
    return user.is_superuser or user.role in roles.CAN_MANAGE_DISPATCH_MODELS


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    change_list_template = "admin/smartdispatch/modelversion/change_list.html"
    list_display = ("__str__", "trained_at", "n_train", "n_feedback", "holdout_macro_f1", "holdout_accuracy",
                    "active", "note")
    readonly_fields = ("number", "directory", "trained_at", "training_data", "n_train", "n_feedback", "evaluation",
                       "meta", "active", "activated_at", "created_by")
    fields = readonly_fields + ("note",)
    actions = ["activate_selected"]

    def has_add_permission(self, request):
        return False  # versions come from training, not from a form

    @admin.display(description="留出集 macro-F1")
    def holdout_macro_f1(self, obj):
        value = obj.macro_f1
        return "—" if value is None else f"{value:.3f}"

    @admin.display(description="留出集准确率")
    def holdout_accuracy(self, obj):
        value = (obj.evaluation or {}).get("accuracy")
        return "—" if value is None else f"{float(value):.3f}"

    @admin.action(description="启用所选版本（可用于回滚）")
    def activate_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "请只选择一个版本启用", messages.ERROR)
            return
        try:
            version = services.activate(queryset.get(), actor=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"已启用模型 v{version.number}；之后的新工单按该版本给出建议")

    def get_urls(self):
        extra = [path("train/", self.admin_site.admin_view(self.train_view), name="smartdispatch_modelversion_train")]
        return extra + super().get_urls()

    def train_view(self, request):
        if request.method != "POST":
            return redirect(reverse("admin:smartdispatch_modelversion_changelist"))
        if not _may_manage(request.user):
            raise PermissionDenied("当前角色无权训练分类模型")
        rule = request.POST.get("activate", "if_better")
        if rule not in ("if_better", "always", "never"):
            self.message_user(request, f"启用规则「{rule}」无效", messages.ERROR)
            return redirect(reverse("admin:smartdispatch_modelversion_changelist"))
        task = jobs.queue_training(user_id=request.user.pk, activate=rule)
        if task:
            self.message_user(request, "已提交训练任务，后台作业完成后新版本会出现在此列表中")
        else:
            self.message_user(request, "训练完成，新版本见下表")
        return redirect(reverse("admin:smartdispatch_modelversion_changelist"))


@admin.register(DispatchSettings)
class DispatchSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "auto_dispatch", "threshold", "updated_at")

    def has_add_permission(self, request):
        return not DispatchSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        config = DispatchSettings.current()  # the one row always exists for the admin to edit
        return redirect(reverse("admin:smartdispatch_dispatchsettings_change", args=[config.pk]))


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "street", "active", "note")
    list_filter = ("kind", "street", "active")
    search_fields = ("name", "note")
    list_editable = ("street", "active")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DispatchSuggestion)
class DispatchSuggestionAdmin(ReadOnlyAdmin):
    list_display = ("order", "label", "confidence", "lead_unit", "street", "street_source", "outcome",
                    "model_version", "created_at")
    list_filter = ("outcome", "auto_dispatched", "label", "street_source", "model_version")
    list_select_related = ("order", "lead_unit", "street", "model_version")
    search_fields = ("order__number",)


@admin.register(DispatchFeedback)
class DispatchFeedbackAdmin(ReadOnlyAdmin):
    list_display = ("order", "kind", "suggested_label", "final_label", "suggested_unit", "final_unit", "by",
                    "created_at")
    list_filter = ("kind", "auto_dispatched", "suggested_label", "final_label")
    list_select_related = ("order", "suggested_unit", "final_unit", "by")
    search_fields = ("order__number",)
