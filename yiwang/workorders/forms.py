"""Forms of the HTML pages. They parse input only; the services decide and write.

Field names match the ``field`` the services put on their errors, so a
:class:`~yiwang.core.errors.DomainError` lands next to the input it is about.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from yiwang.core.calendar import SHANGHAI

from yiwang.org.models import Category, Committee, Street, Unit
from yiwang.org.routing import route_for

from . import selectors
from .filtersets import WorkOrderFilterSet, keyword_match
from .models import AppealType, ReturnReason, Satisfaction, Urgency, WorkOrder
from .repeats import Period
from .states import UNIT_STAGE, Action

def add_domain_error(form: forms.Form, error) -> None:
    """Show a service's refusal next to the field it names, or above the form."""
    name = getattr(form, "field_aliases", {}).get(error.field, error.field)
    form.add_error(name if name in form.fields else None, error.message)


# --- choices ---------------------------------------------------------------

def category_choices() -> list:
    """Level-3 categories grouped under their level-1 ancestor (rendered as <optgroup>)."""
    groups: dict[str, list] = defaultdict(list)
    rows = Category.objects.filter(level=3, active=True).select_related("parent__parent").order_by("code")
    for cat in rows:
        groups[cat.parent.parent.name].append((str(cat.pk), f"{cat.parent.name} / {cat.name}"))
    return [("", "（请选择分类）"), *groups.items()]


def committee_choices() -> list:
    groups: dict[str, list] = defaultdict(list)
    for committee in Committee.objects.select_related("street").order_by("street__code", "code"):
        groups[committee.street.name].append((str(committee.pk), committee.name))
    return [("", "（不选）"), *groups.items()]


class GroupedModelChoiceField(forms.ChoiceField):
    """A select with <optgroup>s whose cleaned value is the model instance."""

    def __init__(self, *, queryset, choices, **kwargs):
        super().__init__(choices=choices, **kwargs)
        self.queryset = queryset

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return None
        return self.queryset.get(pk=value)


# --- intake ----------------------------------------------------------------

class IntakeBase(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    title = forms.CharField(label="标题", max_length=200)
    content = forms.CharField(label="诉求内容", widget=forms.Textarea(attrs={"rows": 5}))
    appeal_type = forms.ChoiceField(label="诉求类型", choices=AppealType.choices, initial=AppealType.REQUEST)
    street = forms.ModelChoiceField(label="街道", queryset=Street.objects.all(), required=False, empty_label="（不选）")
    address = forms.CharField(label="地址", max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # A fresh key per rendered form: a double-submit of this page creates one order.
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)


class RegisterForm(IntakeBase):
    """The operator's form for a call (电话登记)."""

    urgency = forms.ChoiceField(label="紧急程度", choices=Urgency.choices, initial=Urgency.NORMAL)
    category = GroupedModelChoiceField(label="分类", queryset=Category.objects.filter(level=3), choices=(),
                                       required=False)
    committee = GroupedModelChoiceField(label="居委", queryset=Committee.objects.all(), choices=(), required=False)
    appellant_name = forms.CharField(label="诉求人", max_length=64, required=False)
    appellant_phone = forms.CharField(label="联系电话", max_length=32, required=False)
    direct_answer = forms.CharField(
        label="直办答复", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="仅咨询类：当场答复即办结，不再派单",
    )
    field_aliases = {"answer": "direct_answer"}
    # The order of a call: the caller ID is there first (and brings up the history),
    # then who calls, what about, where; 直办 last, for consultations answered at once.
    field_order = ["appellant_phone", "appellant_name", "title", "content", "appeal_type", "urgency", "category",
                   "street", "committee", "address", "direct_answer"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        self.fields["committee"].choices = committee_choices()
        phone = self.fields["appellant_phone"].widget.attrs
        phone.update(autofocus=True, inputmode="tel", autocomplete="off", **{"data-caller-history": "1"})
        # Alt+Z jumps to the direct answer (直办) from anywhere in the form.
        self.fields["direct_answer"].widget.attrs["data-direct-answer"] = "1"


class PanelChoice(forms.Widget):
    """Renders nothing: the value comes only from the button pressed in the 疑似重复 panel.

    So a page shown again after an error never carries an earlier choice along unseen.
    Counted as hidden, so the page lists it (and its errors) with the hidden fields.
    """

    input_type = "hidden"

    def render(self, name, value, attrs=None, renderer=None):
        return ""


REPEAT_MODES = {"link": "关联", "merge": "合并"}


class RepeatCallForm(RegisterForm):
    """The operator's form plus the repeat-call choice of the 疑似重复 panel ("link:HK…" or "merge:HK…")."""

    repeat = forms.CharField(required=False, max_length=40, widget=PanelChoice, label="重复来电")
    field_aliases = {**RegisterForm.field_aliases, "master": "repeat"}

    def clean_repeat(self):
        value = self.cleaned_data["repeat"].strip()
        if not value:
            return None
        mode, _, number = value.partition(":")
        if mode not in REPEAT_MODES or not number.strip():
            raise forms.ValidationError("重复来电操作无效：应为「关联」或「合并」加主工单编号")
        return mode, number.strip()


class SelfServiceForm(IntakeBase):
    """Citizens and enterprises: their contact comes from their account."""

    field_order = ["title", "content", "appeal_type", "street", "address"]


# --- the lists' filters ------------------------------------------------------

# The REST list's filters plus the due-date ones, in the order the pages show them
# (created_at stays API-only: its ISO inputs suit programs better than people).
LIST_FILTERS = ("q", "status", "sla_state", "due", "due_by", "appeal_type", "channel", "urgency", "street",
                "lead_unit", "category")
_FILTER_LABELS = {"q": "关键词", "street": "街道", "lead_unit": "主办单位", "category": "分类"}


class PageFilterSet(WorkOrderFilterSet):
    """The pages' filters: the API's, due dates, and a keyword that also finds a caller's phone.

    The phone is searched only for users who see personal data, so a search cannot be
    used to learn which orders a masked number belongs to.
    """

    due = django_filters.ChoiceFilter(label="办结时限", choices=[("overdue", "已超期"), ("today", "今日到期")],
                                      method="filter_due", empty_label="（不限）")
    due_by = django_filters.DateFilter(label="时限截至（含当日）", method="filter_due_by",
                                       widget=forms.DateInput(attrs={"type": "date"}))
    q = django_filters.CharFilter(method="filter_q", label="关键词（编号、标题、内容、电话）")

    def __init__(self, *args, user=None, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.now = user, now or timezone.now()
        # Level 1 and 2 only: each takes its sub-categories, and the select stays short.
        self.filters["category"].queryset = Category.objects.filter(level__lte=2).order_by("code")
        self.filters["category"].extra["empty_label"] = "（不限）"

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        match = keyword_match(value)
        # Phone numbers are digits: only a digit keyword can be one (and the scan is skipped otherwise).
        if value.isdigit() and self.user is not None and (self.user.is_superuser or self.user.sees_personal_data):
            match |= Q(appellant_phone__contains=value)
        return queryset.filter(match)

    def _tomorrow(self):
        local = self.now.astimezone(SHANGHAI).date()
        return dt.datetime.combine(local + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)

    def filter_due(self, queryset, name, value):
        # Only orders a unit still has to answer can be overdue or due.
        open_ = queryset.filter(status__in=UNIT_STAGE)
        if value == "overdue":
            return open_.filter(handle_deadline__lt=self.now)
        return open_.filter(handle_deadline__gte=self.now, handle_deadline__lt=self._tomorrow())

    def filter_due_by(self, queryset, name, value):
        end = dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
        return queryset.filter(status__in=UNIT_STAGE, handle_deadline__lt=end)


def order_filters(data, queryset, *, user=None, now=None) -> PageFilterSet:
    """The pages' filterset over an already scoped queryset, with labels and widgets for the page."""
    filterset = PageFilterSet(data, queryset=queryset, user=user, now=now)
    for name, field in filterset.form.fields.items():
        field.label = _FILTER_LABELS.get(name, field.label)
        if isinstance(field.widget, forms.SelectMultiple):
            field.widget.attrs["size"] = 4
    return filterset


# --- one form per action on the detail page ---------------------------------

DECISION = [("approve", "同意"), ("reject", "驳回")]


class ActionForm(forms.Form):
    """Base of the detail page's action forms.

    ``slug`` is the URL segment (``/orders/<id>/<slug>/``); the form is offered
    when any of ``actions`` is in :func:`selectors.available_actions`.
    ``button_field`` names a choice field rendered as one submit button per choice.
    Text inputs are optional here on purpose: the service owns the rule and its
    message (e.g. 退单说明不能为空), so the page says what the API says.
    """

    slug = ""
    title = ""
    actions: frozenset = frozenset()
    submit_label = "提交"
    button_field = ""
    field_aliases: dict = {}

    def __init__(self, *args, order: WorkOrder, user, **kwargs):
        self.order, self.user = order, user
        super().__init__(*args, **kwargs)

    def button_choices(self):
        return self.fields[self.button_field].choices if self.button_field else []

    def approve(self) -> bool:
        return self.cleaned_data.get(self.button_field) == "approve"


def _units():
    return Unit.objects.filter(active=True)


class DispatchForm(ActionForm):
    slug, title, submit_label = "dispatch", "派单", "派单"
    actions = frozenset({Action.DISPATCH})
    lead_unit = forms.ModelChoiceField(label="主办单位", queryset=_units(), required=False,
                                       empty_label="（按派单规则）")
    co_units = forms.ModelMultipleChoiceField(label="协办单位", queryset=_units(), required=False,
                                              widget=forms.SelectMultiple(attrs={"size": 6}))
    reason = forms.CharField(label="派单说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            route = route_for(self.order.category, self.order.street)
            self.initial.update(lead_unit=route.lead_unit, co_units=route.co_units)


class SignForm(ActionForm):
    slug, title, submit_label = "sign", "签收", "签收"
    actions = frozenset({Action.SIGN})


class ProgressForm(ActionForm):
    slug, title, submit_label = "progress", "办理记录", "记录"
    actions = frozenset({Action.RECORD_PROGRESS})
    note = forms.CharField(label="办理记录 / 协办意见", widget=forms.Textarea(attrs={"rows": 3}), required=False)


class ReturnForm(ActionForm):
    slug, title, submit_label = "return", "申请退单", "申请退单"
    actions = frozenset({Action.REQUEST_RETURN})
    reason_code = forms.ChoiceField(label="退单原因", choices=ReturnReason.choices)
    reason = forms.CharField(label="退单说明", widget=forms.Textarea(attrs={"rows": 2}), required=False)
    suggested_unit = forms.ModelChoiceField(label="建议承办单位", queryset=_units(), required=False,
                                            empty_label="（不建议）")


class ReturnDecisionForm(ActionForm):
    slug, title = "return-decision", "退单仲裁"
    actions = frozenset({Action.APPROVE_RETURN, Action.REJECT_RETURN})
    button_field = "decision"
    decision = forms.ChoiceField(label="仲裁结果", choices=[("approve", "同意退单"), ("reject", "驳回退单")])
    note = forms.CharField(label="仲裁意见", widget=forms.Textarea(attrs={"rows": 2}), required=False,
                           help_text="驳回时必填")


class ExtensionForm(ActionForm):
    slug, title, submit_label = "extension", "申请延期", "申请延期"
    actions = frozenset({Action.REQUEST_EXTENSION})
    # Parsed by the service, so its message (range, number) is the one shown.
    hours = forms.CharField(label="延期时长（工作小时）", max_length=16)
    reason = forms.CharField(label="延期理由", widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ExtensionDecisionForm(ActionForm):
    slug, title = "extension-decision", "延期审批"
    actions = frozenset({Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION})
    button_field = "decision"
    decision = forms.ChoiceField(label="审批结果", choices=[("approve", "同意延期"), ("reject", "拒绝延期")])
    note = forms.CharField(label="审批意见", widget=forms.Textarea(attrs={"rows": 2}), required=False,
                           help_text="拒绝时必填")


class ReplyForm(ActionForm):
    slug, title, submit_label = "reply", "答复", "提交答复"
    actions = frozenset({Action.REPLY})
    text = forms.CharField(label="答复内容", widget=forms.Textarea(attrs={"rows": 4}), required=False)


class ReviewForm(ActionForm):
    slug, title = "review", "答复审核"
    actions = frozenset({Action.APPROVE_REPLY, Action.REJECT_REPLY})
    button_field = "decision"
    decision = forms.ChoiceField(label="审核结果", choices=[("approve", "审核通过"), ("reject", "退回重办")])
    note = forms.CharField(label="审核意见", widget=forms.Textarea(attrs={"rows": 2}), required=False,
                           help_text="退回时必填")


class FollowUpForm(ActionForm):
    slug, title, submit_label = "follow-up", "回访", "记录回访"
    actions = frozenset({Action.FOLLOW_UP})
    satisfaction = forms.ChoiceField(label="满意度", choices=Satisfaction.choices, widget=forms.RadioSelect)
    resolved = forms.TypedChoiceField(label="实际解决", choices=[("1", "已解决"), ("0", "未解决")],
                                      coerce=lambda v: v == "1", widget=forms.RadioSelect)
    note = forms.CharField(label="回访记录", widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReopenForm(ActionForm):
    slug, title, submit_label = "reopen", "重办", "重办"
    actions = frozenset({Action.REOPEN})
    reason = forms.CharField(label="重办理由", widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ArchiveForm(ActionForm):
    slug, title, submit_label = "archive", "归档", "归档"
    actions = frozenset({Action.ARCHIVE})
    reason = forms.CharField(label="归档说明", widget=forms.Textarea(attrs={"rows": 2}), required=False)


class EscalateForm(ActionForm):
    slug, title, submit_label = "escalate", "督办", "督办"
    actions = frozenset({Action.ESCALATE})
    note = forms.CharField(label="督办意见", widget=forms.Textarea(attrs={"rows": 2}), required=False)


class MasterNumberForm(ActionForm):
    """A form that names a master order by its number, among the orders the user may see."""

    master = forms.CharField(label="主工单编号", max_length=24)

    def clean_master(self):
        number = self.cleaned_data["master"].strip()
        master = selectors.visible_orders(self.user).filter(number=number).first()
        if master is None:
            raise forms.ValidationError(f"未找到工单「{number}」")
        return master


class MergeForm(MasterNumberForm):
    slug, title, submit_label = "merge", "合并到主工单", "合并"
    actions = frozenset({Action.MERGE})
    reason = forms.CharField(label="合并说明", required=False)


class LinkForm(MasterNumberForm):
    slug, title, submit_label = "link", "关联到主工单（重复来电）", "关联"
    actions = frozenset({Action.LINK})
    reason = forms.CharField(label="关联说明", required=False,
                             help_text="关联后本工单照常办理，计为主工单的一次重复来电")


class UnlinkForm(ActionForm):
    slug, title, submit_label = "unlink", "取消关联", "取消关联"
    actions = frozenset({Action.UNLINK})
    reason = forms.CharField(label="取消关联理由", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AnswerForm(ActionForm):
    slug, title, submit_label = "answer", "直办答复", "答复并办结"
    actions = frozenset({Action.ANSWER_DIRECTLY})
    answer = forms.CharField(label="直办答复", widget=forms.Textarea(attrs={"rows": 3}), required=False)


ACTION_FORMS: dict[str, type[ActionForm]] = {
    form.slug: form
    for form in (AnswerForm, DispatchForm, SignForm, ProgressForm, ReturnForm, ReturnDecisionForm, ExtensionForm,
                 ExtensionDecisionForm, ReplyForm, ReviewForm, FollowUpForm, ReopenForm, ArchiveForm, EscalateForm,
                 MergeForm, LinkForm, UnlinkForm)
}


# --- the repeat-call statistics page (重复来电) ----------------------------------------

MAX_PERIOD_DAYS = 3 * 366


class RepeatPeriodForm(forms.Form):
    """The page's filters (GET): a period of registration dates, optionally a street or a unit.

    Without dates: the last 30 days up to today.
    """

    start = forms.DateField(label="登记日期自", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="至（含）", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    street = forms.ModelChoiceField(label="街道", queryset=Street.objects.all(), required=False, empty_label="（不限）")
    unit = forms.ModelChoiceField(label="主办单位", queryset=Unit.objects.filter(active=True), required=False,
                                  empty_label="（不限）")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        today = timezone.localtime(timezone.now(), SHANGHAI).date()
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(days=29)
        if start > end:
            self.add_error("start", "起始日期不能晚于截止日期")
        elif (end - start).days >= MAX_PERIOD_DAYS:
            self.add_error("start", f"统计区间最长 {MAX_PERIOD_DAYS} 天")
        data["start"], data["end"] = start, end
        return data

    def period(self) -> Period:
        data = self.cleaned_data
        midnight = dt.time()
        return Period(
            start=dt.datetime.combine(data["start"], midnight, tzinfo=SHANGHAI),
            end=dt.datetime.combine(data["end"] + dt.timedelta(days=1), midnight, tzinfo=SHANGHAI),
            street_id=data["street"].pk if data.get("street") else None,
            unit_id=data["unit"].pk if data.get("unit") else None,
        )
