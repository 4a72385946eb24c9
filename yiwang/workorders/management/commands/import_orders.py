"""``import_orders PATH``: import appeals from a CSV or Excel file (all rows or none)."""

from django.core.management.base import BaseCommand, CommandError

from yiwang.core.errors import DomainError
from yiwang.workorders.importers import import_file, import_user
from yiwang.workorders.models import Channel


class Command(BaseCommand):
    help = "从 CSV 或 Excel 文件批量导入诉求；任何一行有误则全部不导入（退出码 2）"

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--channel", default=Channel.IMPORT,
                            choices=[c for c in Channel.values if c != Channel.CITY])
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--user", help="以该用户身份登记（默认系统账号 importer）")

    def handle(self, *args, path, channel, dry_run, user, **options):
        try:
            actor = import_user(user)
            report = import_file(path, actor=actor, channel=channel, dry_run=dry_run)
        except (DomainError, OSError) as exc:
            raise CommandError(getattr(exc, "message", str(exc)), returncode=2) from exc
        for error in report.errors:
            self.stderr.write(str(error))
        if report.errors:
            raise CommandError(f"{len(report.errors)} 处错误，未导入任何工单", returncode=2)
        if dry_run:
            self.stdout.write(f"校验通过：{report.rows} 行，未写入（--dry-run）")
        else:
            self.stdout.write(f"导入完成：新建 {report.created} 条工单，{report.existing} 条此前已导入（共 {report.rows} 行）")
