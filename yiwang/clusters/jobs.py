"""Background work of case clusters, run by the django-q2 cluster (``yiwang worker``).

Schedules (migration 0002): ``clusters-assign`` runs :func:`assign` every 10 minutes,
``clusters-task-sweep`` runs :func:`sweep_tasks` every 10 minutes. The admin's
"立即聚合" button queues :func:`assign` at once; ``yiwang manage cluster_orders`` runs it in
the foreground.
"""

from __future__ import annotations

from django_q.tasks import async_task

# A first run over a large history can take minutes; bounded chunks let a later run go on.
ASSIGN_TIMEOUT_S = 170


def assign() -> dict:
    from . import engine

    return engine.run()


def sweep_tasks() -> int:
    from . import services

    return services.sweep_overdue()


def queue_assign() -> str:
    return async_task("yiwang.clusters.jobs.assign", task_name="clusters-assign-now", timeout=ASSIGN_TIMEOUT_S)
