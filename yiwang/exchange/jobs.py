"""Background work of the exchange app, run by the django-q2 cluster (``yiwang worker``)."""

from __future__ import annotations

from django_q.tasks import async_task


# A large file takes minutes (about 200 rows/s on SQLite): more than the cluster's default timeout.
IMPORT_TIMEOUT_S = 3600


def queue_import(run_id: int) -> str:
    """Queue the import of an :class:`ImportRun` (call after the row is committed)."""
    return async_task("yiwang.exchange.jobs.run_import", run_id, task_name=f"import-run-{run_id}",
                      timeout=IMPORT_TIMEOUT_S)


def run_import(run_id: int) -> str:
    from .services import import_run_execute

    run = import_run_execute(run_id)
    return run.message if run else "导入记录不存在"


def queue_export(job_id: int) -> str:
    """Queue an :class:`ExportJob` (call after the row is committed)."""
    # A million rows take several minutes as well.
    return async_task("yiwang.exchange.jobs.run_export", job_id, task_name=f"export-job-{job_id}",
                      timeout=IMPORT_TIMEOUT_S)


def run_export(job_id: int) -> str:
    from .services import export_job_execute

    job = export_job_execute(job_id)
    return job.message if job else "导出任务不存在"
