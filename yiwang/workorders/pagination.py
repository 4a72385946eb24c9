"""Paging of the order lists, with a bounded count for keyword searches.

A keyword that no index serves (two Chinese characters have no trigram; a word in
half the orders gives the index nothing to skip) makes the exact ``COUNT(*)`` read
every matching row: seconds on a million orders, while the page itself, newest
first, stops after fifty. So a keyword search counts at most ``KEYWORD_COUNT_CAP``
rows past the page asked for and says "10,000+" when there are more; every other
list keeps its exact count. A keyword of one or two characters, which no trigram
index can serve, counts to ``SHORT_KEYWORD_COUNT_CAP`` only: on a million orders
reading to the 10,001st match of 噪音 took 1.2 s (bench/list_latency.py).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

KEYWORD_COUNT_CAP = 10_000
SHORT_KEYWORD_COUNT_CAP = 1_000
TRIGRAM = 3  # pg_trgm finds nothing to look up in a LIKE pattern shorter than this


def keyword_count_cap(params) -> int | None:
    """How far a list's count goes: None (exact) without a keyword."""
    keyword = (params.get("q") or "").strip()
    if not keyword:
        return None
    return SHORT_KEYWORD_COUNT_CAP if len(keyword) < TRIGRAM else KEYWORD_COUNT_CAP


def bounded_count(queryset, cap: int) -> tuple[int, bool]:
    """(count, capped): at most ``cap`` and whether more rows match.

    ``SELECT COUNT(*) FROM (… LIMIT cap + 1)``: the database stops after cap + 1 rows.
    The ordering is dropped so that it need not sort every match before the LIMIT.
    """
    n = queryset.order_by()[: cap + 1].count()
    return min(n, cap), n > cap


class BoundedPaginator(Paginator):
    """A Django paginator whose count stops at ``count_cap`` (None: the exact count)."""

    def __init__(self, object_list, per_page, *, count_cap: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count_cap = count_cap

    @cached_property
    def _bounded(self) -> tuple[int, bool]:
        if self.count_cap is None:
            return super().count, False
        return bounded_count(self.object_list, self.count_cap)

    @cached_property
    def count(self) -> int:
        return self._bounded[0]

    @property
    def capped(self) -> bool:
        return self._bounded[1]

    @property
    def count_label(self) -> str:
        """The count as shown: "10,000+" when the count stopped at its cap."""
        return f"{self.count:,}+" if self.capped else str(self.count)

    @property
    def num_pages_label(self) -> str:
        return f"{self.num_pages}+" if self.capped else str(self.num_pages)


def _page_number(params) -> int:
    try:
        return max(1, int(params.get("page") or 1))
    except (TypeError, ValueError):
        return 1


def list_paginator(queryset, params, per_page: int) -> BoundedPaginator:
    """The paginator of a list page: bounded when the filters hold a keyword.

    The cap grows with the page asked for (one page beyond it), so "下一页" keeps
    working past the ten-thousandth row.
    """
    cap = keyword_count_cap(params)
    if cap is not None:
        cap = max(cap, (_page_number(params) + 1) * per_page)
    return BoundedPaginator(queryset, per_page, count_cap=cap)


class OrderListPagination(LimitOffsetPagination):
    """limit/offset paging of the REST order list; a keyword search's count is bounded.

    The response then carries ``count_capped: true`` and ``count`` is a lower bound.
    """

    count_capped = False

    def get_count(self, queryset):
        self.count_capped = False
        cap = keyword_count_cap(self.request.query_params)
        if cap is None:
            return super().get_count(queryset)
        # The cap reaches one page past the one asked for, so ``next`` is there while rows are.
        cap = max(cap, self.get_offset(self.request) + 2 * self.limit)
        count, self.count_capped = bounded_count(queryset, cap)
        return count

    def get_paginated_response(self, data):
        return Response({
            "count": self.count,
            "count_capped": self.count_capped,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count_capped"] = {
            "type": "boolean",
            "description": (f"为 true 时结果多于 count：按关键词搜索只数到 {KEYWORD_COUNT_CAP:,} 条"
                            f"（一两个字的关键词 {SHORT_KEYWORD_COUNT_CAP:,} 条；或当前页之后一页），以免统计拖慢查询"),
        }
        schema["required"] = [*schema["required"], "count_capped"]
        return schema
