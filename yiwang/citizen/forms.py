"""The public forms: filing an appeal, following it, rating the answer."""

from __future__ import annotations

import uuid

from django import forms
from django.core.validators import RegexValidator

from yiwang.org.models import Category, Street
from yiwang.workorders.models import AppealType, Satisfaction

from . import photos

# Mainland mobile numbers, or a landline with or without its area code (021-…, 8 digits in Shanghai).
# A pattern rather than a phone library: only the format is checked, the number is called back by staff.
PHONE = RegexValidator(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{8})$",
                       "请输入正确的手机号（11 位）或固定电话（如 021-65001234）")

# Appeal types a citizen may choose; praise and consultation go through the phone line as well.
CITIZEN_TYPES = [(t.value, t.label) for t in (AppealType.REQUEST, AppealType.COMPLAINT, AppealType.REPORT,
                                              AppealType.SUGGESTION, AppealType.CONSULTATION, AppealType.PRAISE)]


class PhoneField(forms.CharField):
    """Spaces people type to group digits ("139 1234 5678") are dropped before the format check."""

    def to_python(self, value):
        return "".join(super().to_python(value).split())


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several files in one field (the pattern the Django documentation gives)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        if len(files) > photos.MAX_PHOTOS:
            raise forms.ValidationError(f"最多上传 {photos.MAX_PHOTOS} 张照片，您选择了 {len(files)} 张")
        cleaned, errors = [], []
        for upload in files:
            try:
                cleaned.append(photos.clean_photo(upload))
            except forms.ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


def category_choices() -> list:
    """Second-level categories grouped under their first level (118 choices, short enough for a phone)."""
    groups: dict[str, list] = {}
    for category in Category.objects.filter(level=2, active=True).select_related("parent").order_by("code"):
        groups.setdefault(category.parent.name, []).append((str(category.pk), category.name))
    return [("", "不确定（由热线分类）"), *groups.items()]


class AppealForm(forms.Form):
    title = forms.CharField(label="标题", max_length=100, widget=forms.TextInput(attrs={"placeholder": "一句话说明问题，如：小区门口路灯不亮"}))
    content = forms.CharField(label="诉求内容", max_length=2000, min_length=10,
                              widget=forms.Textarea(attrs={"rows": 6, "placeholder": "请写明时间、地点、具体问题和您的诉求"}))
    appeal_type = forms.ChoiceField(label="诉求类型", choices=CITIZEN_TYPES, initial=AppealType.REQUEST)
    category = forms.TypedChoiceField(label="问题分类（选填）", required=False, coerce=int, empty_value=None)
    street = forms.ModelChoiceField(label="所在街道（选填）", queryset=Street.objects.order_by("code"), required=False,
                                    empty_label="不确定")
    address = forms.CharField(label="详细地址", max_length=200, widget=forms.TextInput(attrs={"placeholder": "路名、门牌号或小区名称"}))
    appellant_name = forms.CharField(label="您的姓名", max_length=32)
    appellant_phone = PhoneField(label="联系电话", max_length=20, validators=[PHONE],
                                      widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    photos = MultiplePhotoField(label=f"现场照片（选填，最多 {photos.MAX_PHOTOS} 张，每张不超过 5 MB）", required=False)
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        if not self.is_bound:
            self.initial.setdefault("form_token", uuid.uuid4().hex)
        for field in self.fields.values():
            field.error_messages["required"] = "请填写此项"

    def clean_form_token(self):
        token = self.cleaned_data["form_token"]
        try:
            return uuid.UUID(token).hex
        except ValueError:
            raise forms.ValidationError("表单已失效，请刷新页面后重新提交") from None

    def clean_category(self):
        pk = self.cleaned_data.get("category")
        if pk is None:
            return None
        category = Category.objects.filter(pk=pk, active=True).first()
        if category is None:
            raise forms.ValidationError("请选择有效的问题分类")
        return category


class FollowForm(forms.Form):
    number = forms.CharField(label="受理编号", max_length=24,
                             widget=forms.TextInput(attrs={"placeholder": "如 HK20261123000001", "autocapitalize": "characters"}))
    code = forms.CharField(label="查询码", max_length=16,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["required"] = "请填写此项"


class RatingForm(forms.Form):
    satisfaction = forms.ChoiceField(label="您对办理结果是否满意", choices=Satisfaction.choices, widget=forms.RadioSelect)
    resolved = forms.TypedChoiceField(label="您反映的问题是否已实际解决", choices=[("yes", "已解决"), ("no", "未解决")],
                                      coerce=lambda v: v == "yes", widget=forms.RadioSelect)
    note = forms.CharField(label="评价内容（选填）", max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["satisfaction"].error_messages["required"] = "请选择满意程度"
        self.fields["resolved"].error_messages["required"] = "请选择问题是否已解决"
