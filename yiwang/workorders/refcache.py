"""Per-process cache of the reference rows an intake names by code: categories, streets, committees.

Every intake looked its category and street up by code: two queries, and the
ORM's compiling of them, for tables that change a few times a year (about 650
categories, 8 streets, 200 committees). A web server process now keeps the rows it has
looked up, keyed by code (a street also by name), for ``TTL`` seconds.

Staleness is bounded and one-sided:

- a saved or deleted row (admin, ``yiwang`` commands: anything through ``save()``)
  empties that table's cache in the process that saved it at once; other worker
  processes see the change within ``TTL`` seconds. So a category deactivated in the
  admin may still be accepted by another worker for up to a minute;
- a row that is not cached is always looked up in the database, so a new category
  or street is usable at once everywhere;
- rows are cached only when read outside a transaction (the REST intake validates
  before it opens one): a row read inside a transaction that may yet roll back
  (every ``django_db`` test, an import that fails) is never kept.

Cached instances are shared between requests and threads and must be treated as
read-only (they are only assigned as foreign keys and serialized).
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from yiwang.core.refcache import ReferenceTable
from yiwang.org.models import Category, Committee, Street

TTL = 60.0


categories = ReferenceTable(Category.objects.filter(active=True), ttl=TTL)
streets = ReferenceTable(Street.objects.all(), ttl=TTL)
committees = ReferenceTable(Committee.objects.select_related("street"), ttl=TTL)
TABLES = {Category: categories, Street: streets, Committee: committees}


def clear_all() -> None:
    for table in TABLES.values():
        table.clear()


def _forget(sender, **kwargs) -> None:
    TABLES[sender].clear()
    if sender is Street:
        committees.clear()  # a committee row carries its street


for _model in TABLES:
    post_save.connect(_forget, sender=_model, dispatch_uid=f"refcache-save-{_model.__name__}")
    post_delete.connect(_forget, sender=_model, dispatch_uid=f"refcache-delete-{_model.__name__}")
