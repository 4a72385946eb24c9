"""Roles and what each may see. Pure data: the one place to read who may do what."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    CITIZEN = "citizen", "市民"
    ENTERPRISE = "enterprise", "企业用户"
    OPERATOR = "operator", "话务员"
    DISPATCHER = "dispatcher", "派单员"
    UNIT_HANDLER = "unit_handler", "承办人员"
    UNIT_LEADER = "unit_leader", "承办单位负责人"
    SUPERVISOR = "supervisor", "督办人员"
    NPC_DEPUTY = "npc_deputy", "人大代表"
    ADMIN = "admin", "系统管理员"
    SYSTEM = "system", "对接系统"


# Roles that see every work order in the district.
DISTRICT_WIDE = {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
# Roles bound to a unit: they see only work orders dispatched to their unit.
UNIT_BOUND = {Role.UNIT_HANDLER, Role.UNIT_LEADER, Role.NPC_DEPUTY}
# Roles that see only what they filed themselves.
SELF_SERVICE = {Role.CITIZEN, Role.ENTERPRISE, Role.SYSTEM}

# Who needs the appellant's name, phone and address in clear: those who talk to
# the appellant (operators call back, units contact them to handle the matter,
# dispatchers arbitrate). Supervisors, deputies and admins work from masked data.
SEES_PERSONAL_DATA = {Role.OPERATOR, Role.DISPATCHER, Role.UNIT_HANDLER, Role.UNIT_LEADER}

CAN_REGISTER = {Role.OPERATOR, Role.DISPATCHER, Role.SYSTEM, Role.CITIZEN, Role.ENTERPRISE, Role.ADMIN}
CAN_ANSWER_DIRECTLY = {Role.OPERATOR, Role.DISPATCHER}
CAN_DISPATCH = {Role.DISPATCHER}
CAN_ARBITRATE = {Role.DISPATCHER}  # returns, extensions
CAN_REVIEW = {Role.DISPATCHER, Role.SUPERVISOR}
CAN_FOLLOW_UP = {Role.OPERATOR, Role.DISPATCHER}
CAN_REOPEN_OR_ARCHIVE = {Role.DISPATCHER, Role.SUPERVISOR}
CAN_ESCALATE = {Role.SUPERVISOR, Role.DISPATCHER}
CAN_MERGE = {Role.OPERATOR, Role.DISPATCHER}  # also link / unlink repeat calls (关联 / 取消关联)
UNIT_ACTORS = {Role.UNIT_HANDLER, Role.UNIT_LEADER}
CAN_TRANSFER_FROM_CITY = {Role.SYSTEM, Role.DISPATCHER, Role.OPERATOR}
# Intelligent dispatch: who reads its analytics, and who trains, activates and rolls back models.
CAN_SEE_DISPATCH_ANALYTICS = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
CAN_MANAGE_DISPATCH_MODELS = {Role.ADMIN}
# Bulk import of historical orders from spreadsheets: hotline staff and the data bureau.
CAN_IMPORT = {Role.OPERATOR, Role.DISPATCHER, Role.ADMIN}
# KPIs and the dashboard (绩效与大屏): district leaders (supervisors), dispatchers and the data
# bureau see the whole district; a unit leader sees the same pages scoped to their own unit.
CAN_SEE_KPIS = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN, Role.UNIT_LEADER}
KPI_UNIT_SCOPED = {Role.UNIT_LEADER}
# Repeat-call statistics (重复来电): supervisors (district leaders too), dispatchers, admins.
CAN_SEE_REPEAT_CALLS = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
# Case clusters (类案治理): who sees the ranked clusters, who confirms/splits/merges them,
# and who opens governance tasks (督办 owns them; district leaders are supervisors too).
CAN_SEE_CLUSTERS = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
CAN_CURATE_CLUSTERS = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
CAN_OPEN_GOVERNANCE_TASKS = {Role.SUPERVISOR, Role.ADMIN}
# Sudden-issue alerts (突发预警): duty officers (值班长: supervisors, dispatchers) handle them;
# admins read them too.
CAN_SEE_ALERTS = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
CAN_HANDLE_ALERTS = {Role.DISPATCHER, Role.SUPERVISOR}
# Weekly analysis report (热线分析周报): district leaders (supervisors), dispatchers, admins see
# the district's report; a unit leader gets the same report over their unit's orders.
CAN_SEE_REPORTS = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN, Role.UNIT_LEADER}
REPORT_UNIT_SCOPED = {Role.UNIT_LEADER}
