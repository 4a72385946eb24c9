"""Forms of the register (staff pages and the xlsx import share SpaceForm) and the public report form."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import django_filters
from django import forms
from django.db.models import Q

from yiwang.citizen.forms import PHONE, MultiplePhotoField, PhoneField
from yiwang.citizen import photos as photo_rules
from yiwang.org.models import Street

from . import access
from .models import RiskGrade, Space, SpaceType, UsingUnit

# District prefix, kind of space, serial: HK-DX-0001. Upper case only; what is typed is upper-cased first.
CODE_PATTERN = re.compile(r"^[A-Z]{2}-[A-Z]{2,4}-\d{4,6}$")
CODE_HELP = "格式：区代码-类别-序号，如 HK-DX-0001（字母大写，序号 4–6 位）"

# Shanghai's extent in WGS-84 with a small margin (Chongming's north shore to Jinshan,
# Qingpu's west edge to the Yangshan approach). Coordinates outside are typos or
# swapped latitude/longitude, never a space in the district.
SHANGHAI_LAT = (Decimal("30.65"), Decimal("31.90"))
SHANGHAI_LON = (Decimal("120.85"), Decimal("122.25"))


class SpaceForm(forms.ModelForm):
    """Create or edit one space. ``user`` restricts street officers to their own street.

    The code cannot be changed once registered: it is printed on the site label and
    a changed code would send every scan of the old label to a 404 page.
    """

    class Meta:
        model = Space
        fields = ["code", "name", "address", "street", "latitude", "longitude", "space_type", "area_m2", "floors",
                  "using_unit", "safety_contact", "safety_phone", "civil_defence_grade", "risk_grade", "active"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["code"].help_text = CODE_HELP
        self.fields["street"].queryset = Street.objects.order_by("code")
        self.fields["using_unit"].queryset = UsingUnit.objects.order_by("name")
        self.fields["latitude"].help_text = "WGS-84，如 31.264"
        self.fields["longitude"].help_text = "WGS-84，如 121.485"
        if self.instance.pk:
            self.fields["code"].disabled = True
            self.fields["code"].help_text = "编码已印在现场二维码上，登记后不能修改"
        own = access.street_of(user) if user is not None else None
        if own is not None and not access.sees_all_spaces(user):
            self.fields["street"].queryset = Street.objects.filter(pk=own.pk)
            self.fields["street"].initial = own.pk
        for field in self.fields.values():
            field.error_messages.setdefault("required", "请填写此项")
            field.error_messages["required"] = "请填写此项"
            field.error_messages["invalid_choice"] = "请选择有效的选项"

    def clean_code(self):
        if self.instance.pk:
            return self.instance.code
        code = "".join((self.cleaned_data.get("code") or "").split()).upper()
        if not CODE_PATTERN.match(code):
            raise forms.ValidationError(f"编码「{code}」格式不正确。{CODE_HELP}")
        return code

    def clean_street(self):
        street = self.cleaned_data.get("street")
        own = access.street_of(self.user) if self.user is not None else None
        if street is not None and own is not None and not access.sees_all_spaces(self.user) and street.pk != own.pk:
            raise forms.ValidationError(f"街道工作人员只能登记本街道（{own.name}）的地下空间")
        return street

    def clean_safety_phone(self):
        phone = "".join((self.cleaned_data.get("safety_phone") or "").split())
        if phone:
            PHONE(phone)
        return phone

    def clean_area_m2(self):
        area = self.cleaned_data.get("area_m2")
        if area is not None and area <= 0:
            raise forms.ValidationError("面积必须大于 0")
        return area

    def clean_floors(self):
        floors = self.cleaned_data.get("floors")
        if floors is not None and not 1 <= floors <= 10:
            raise forms.ValidationError("地下层数应在 1 到 10 之间")
        return floors

    def clean(self):
        data = super().clean()
        lat, lon = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lon is None) and not {"latitude", "longitude"} & set(self.errors):
            self.add_error("latitude" if lat is None else "longitude", "经度和纬度需同时填写或同时留空")
        if lat is not None and not SHANGHAI_LAT[0] <= lat <= SHANGHAI_LAT[1]:
            self.add_error("latitude", f"纬度 {lat} 不在上海市范围内（{SHANGHAI_LAT[0]}–{SHANGHAI_LAT[1]}）；"
                                       "请检查是否与经度填反")
        if lon is not None and not SHANGHAI_LON[0] <= lon <= SHANGHAI_LON[1]:
            self.add_error("longitude", f"经度 {lon} 不在上海市范围内（{SHANGHAI_LON[0]}–{SHANGHAI_LON[1]}）")
        return data


class SpaceFilterSet(django_filters.FilterSet):
    """The list's filters; a filtered list is a URL (GET) to bookmark or send."""

    street = django_filters.ModelChoiceFilter(label="街道", queryset=Street.objects.order_by("code"),
                                              empty_label="全部街道")
    space_type = django_filters.ChoiceFilter(label="类型", choices=SpaceType.choices, empty_label="全部类型")
    risk_grade = django_filters.ChoiceFilter(label="风险等级", choices=RiskGrade.choices, empty_label="全部")
    using_unit = django_filters.ModelChoiceFilter(label="使用单位", queryset=UsingUnit.objects.order_by("name"),
                                                  empty_label="全部单位")
    q = django_filters.CharFilter(label="关键词", method="filter_q")

    class Meta:
        model = Space
        fields = ["street", "space_type", "risk_grade", "using_unit", "q"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value) | Q(address__icontains=value)
                               | Q(using_unit__name__icontains=value))


FILTERS = ["street", "space_type", "risk_grade", "using_unit", "q"]


class ImportForm(forms.Form):
    file = forms.FileField(label="登记表（.xlsx）", error_messages={"required": "请选择要导入的 .xlsx 文件"})


class SheetForm(forms.Form):
    street = forms.ModelChoiceField(label="街道", queryset=Street.objects.order_by("code"),
                                    error_messages={"required": "请选择街道", "invalid_choice": "请选择有效的街道"})


class HazardReportForm(forms.Form):
    """A citizen's report at the site. Only the description is required."""

    content = forms.CharField(label="隐患描述", max_length=1000, min_length=5,
                              widget=forms.Textarea(attrs={"rows": 5, "placeholder": "请描述看到的问题，如：消防通道堆放杂物、应急灯不亮、渗水"}),
                              error_messages={"required": "请描述您发现的隐患",
                                              "min_length": "请至少用 5 个字描述隐患"})
    photos = MultiplePhotoField(label=f"现场照片（选填，最多 {photo_rules.MAX_PHOTOS} 张，每张不超过 5 MB）", required=False)
    reporter_phone = PhoneField(label="联系电话（选填）", max_length=20, required=False, validators=[PHONE],
                                widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    reporter_name = forms.CharField(label="称呼（选填）", max_length=32, required=False)
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("form_token", uuid.uuid4().hex)
        self.fields["form_token"].error_messages["required"] = "表单已失效，请刷新页面后重新提交"

    def clean_form_token(self):
        try:
            return uuid.UUID(self.cleaned_data["form_token"]).hex
        except ValueError:
            raise forms.ValidationError("表单已失效，请刷新页面后重新提交") from None
