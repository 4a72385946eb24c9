"""Demo data: one account per role (and per unit for unit staff) plus a history of work orders."""

from __future__ import annotations

from yiwang.accounts.roles import Role

from . import factories

# (username, role, unit code, display name)
ACCOUNTS = [
    ("admin", Role.ADMIN, None, "数据局管理员"),
    ("operator", Role.OPERATOR, None, "话务员王敏"),
    ("dispatcher", Role.DISPATCHER, None, "派单员陈刚"),
    ("supervisor", Role.SUPERVISOR, None, "督办员刘洋"),
    ("quyang", Role.UNIT_HANDLER, "ST-310109010", "曲阳路街道 承办人"),
    ("quyang-lead", Role.UNIT_LEADER, "ST-310109010", "曲阳路街道 负责人"),
    ("jgw", Role.UNIT_HANDLER, "JGW", "区建管委 承办人"),
    ("scjg", Role.UNIT_HANDLER, "SCJG", "区市场监管局 承办人"),
    ("deputy", Role.NPC_DEPUTY, "RDLLZ", "人大代表赵静"),
    ("citizen", Role.CITIZEN, None, "市民周华"),
    ("enterprise", Role.ENTERPRISE, None, "上海虹口示例科技有限公司"),
]


def seed_accounts() -> list:
    return [
        factories.make_user(username, role, unit=factories.unit(code) if code else None, display_name=name,
                            phone="13800000000" if role in (Role.CITIZEN, Role.ENTERPRISE) else "")
        for username, role, code, name in ACCOUNTS
    ]


def seed_demo(stdout=None) -> None:
    """Idempotent: accounts are created once; the history is imported only into an empty database."""
    seed_accounts()


def print_accounts(stdout, *, port: int = 8000) -> None:
    stdout.write(f"\nyiwang demo: http://127.0.0.1:{port}/   (admin: /admin/, API: /api/v1/, Open311: /open311/v2/)\n")
    stdout.write(f"Demo accounts (password for all: {factories.DEMO_PASSWORD}):\n")
    for username, role, code, name in ACCOUNTS:
        stdout.write(f"  {username:<14} {Role(role).label:<10} {name}\n")
    stdout.flush()
