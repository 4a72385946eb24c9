"""Read-only REST endpoints for the organisation: streets, committees, units, categories.

Objects are addressed by their code (``/api/v1/units/JGW/``), the same codes
work-order intake and dispatch accept.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from rest_framework import serializers, viewsets

from yiwang.core.api import ChoiceLabelField, FieldsBuiltOnce

from .models import Category, Committee, Street, Unit

# --- serializers -------------------------------------------------------------


class StreetSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Street
        fields = ["code", "name"]


class CommitteeSerializer(serializers.ModelSerializer):
    street = StreetSerializer(read_only=True)

    class Meta:
        model = Committee
        fields = ["code", "name", "street"]


class CommitteeRefSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Committee
        fields = ["code", "name"]


class UnitRefSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A unit as other objects mention it."""

    class Meta:
        model = Unit
        fields = ["code", "name", "kind"]


class UnitSerializer(serializers.ModelSerializer):
    kind_label = ChoiceLabelField("kind")
    street = StreetSerializer(read_only=True)

    class Meta:
        model = Unit
        fields = ["code", "name", "kind", "kind_label", "street", "active"]


class CategoryRefSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["code", "name", "level", "path"]


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Category
        fields = ["code", "name", "level", "path", "parent", "active"]


# --- filters -----------------------------------------------------------------


def _search(fields: tuple[str, ...]):
    def search(queryset, name, value):
        query = Q()
        for field in fields:
            query |= Q(**{f"{field}__icontains": value.strip()})
        return queryset.filter(query)

    return search


class StreetFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method=_search(("code", "name")), label="搜索（代码、名称）")

    class Meta:
        model = Street
        fields = ["q"]


class CommitteeFilterSet(django_filters.FilterSet):
    street = django_filters.ModelChoiceFilter(queryset=Street.objects.all(), to_field_name="code", label="街道代码")
    q = django_filters.CharFilter(method=_search(("code", "name")), label="搜索（代码、名称）")

    class Meta:
        model = Committee
        fields = ["street", "q"]


class UnitFilterSet(django_filters.FilterSet):
    street = django_filters.ModelChoiceFilter(queryset=Street.objects.all(), to_field_name="code", label="街道代码")
    q = django_filters.CharFilter(method=_search(("code", "name")), label="搜索（代码、名称）")

    class Meta:
        model = Unit
        fields = ["kind", "street", "active", "q"]


class CategoryFilterSet(django_filters.FilterSet):
    parent = django_filters.ModelChoiceFilter(queryset=Category.objects.all(), to_field_name="code", label="上级分类代码")
    within = django_filters.CharFilter(field_name="code", lookup_expr="startswith",
                                       label="分类代码前缀（含下级）")
    q = django_filters.CharFilter(method=_search(("code", "path")), label="搜索（代码、路径）")

    class Meta:
        model = Category
        fields = ["level", "parent", "within", "active", "q"]


# --- views -------------------------------------------------------------------


class StreetViewSet(viewsets.ReadOnlyModelViewSet):
    """街道 of the district."""

    queryset = Street.objects.all()
    serializer_class = StreetSerializer
    filterset_class = StreetFilterSet
    lookup_field = "code"


class CommitteeViewSet(viewsets.ReadOnlyModelViewSet):
    """居委 (neighbourhood committees), filterable by street."""

    queryset = Committee.objects.select_related("street")
    serializer_class = CommitteeSerializer
    filterset_class = CommitteeFilterSet
    lookup_field = "code"


class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    """承办单位: departments, street offices, utilities, the deputies' station."""

    queryset = Unit.objects.select_related("street")
    serializer_class = UnitSerializer
    filterset_class = UnitFilterSet
    lookup_field = "code"


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The three-level appeal taxonomy."""

    queryset = Category.objects.select_related("parent")
    serializer_class = CategorySerializer
    filterset_class = CategoryFilterSet
    lookup_field = "code"


def register_routes(router):
    router.register("streets", StreetViewSet, basename="street")
    router.register("committees", CommitteeViewSet, basename="committee")
    router.register("units", UnitViewSet, basename="unit")
    router.register("categories", CategoryViewSet, basename="category")
