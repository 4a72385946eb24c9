"""Demo history: several thousand closed work orders with realistic lifecycles.

The appeals come from the public citizen messages released for the 2020 TipDM
Cup (problem C) in ``settings.DATA_DIR``; each order says so in its
``external_ref`` ("tipdm:<file>:<id>"). Place names there are anonymised
(A市A3区 …), so the street is chosen deterministically from the message id.
Without the data files a smaller history is generated from built-in texts.

Historical rows bypass :mod:`yiwang.workorders.services` on purpose: this is an
import of handling that already happened, years ago, and replaying it through
the services one action at a time would take minutes and queue thousands of
stale notifications. The rows written here mirror what the services would have
written (status edges from the transition table, event data, assignments,
deadlines from the same SLA rules and working calendar, the sweep's warnings),
and the tests walk every imported order's event chain to keep it so.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from yiwang.core.calendar import SHANGHAI, WorkingCalendar
from yiwang.core.models import load_calendar
from yiwang.org.models import Category, Committee, Street, Unit
from yiwang.org.routing import route_for
from yiwang.workorders import sla
from yiwang.workorders.models import (
    AppealType, Assignment, Channel, Decision, Event, ExtensionRequest, FollowUp, Satisfaction, SlaState,
    Urgency, WorkOrder,
)
from yiwang.workorders.services import order_number
from yiwang.workorders.states import Action, Status, allowed

SOURCE_FILES = ("appeals_with_replies.csv", "appeals_public_2019.csv")
DEFAULT_CATEGORY = "城乡建设/城市建设和市政管理/其他"
FALLBACK_UNIT = "JGW"
TEMPLATE_HISTORY_SIZE = 300
BATCH = 1000


# --- source rows -------------------------------------------------------------

@dataclass
class Appeal:
    """One historical appeal, whatever its source."""

    ref: str  # external_ref: where the text comes from
    user: str  # the poster's pseudonym: the same caller across appeals
    time: dt.datetime
    title: str
    detail: str
    reply: str = ""
    reply_time: dt.datetime | None = None
    category_path: str = ""  # known for template texts; matched for real ones
    appeal_type: str = ""


def _parse_time(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value.strip()).replace(tzinfo=SHANGHAI)
    except (ValueError, AttributeError):
        return None


def load_appeals(data_dir: Path) -> list[Appeal]:
    """The public appeals in ``data_dir``; rows without a usable time or text are skipped."""
    appeals = []
    for name in SOURCE_FILES:
        path = data_dir / name
        if not path.exists():
            continue
        with open(path, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                created = _parse_time(row.get("time", ""))
                title, detail = (row.get("title") or "").strip(), (row.get("detail") or "").strip()
                if created is None or not title or not detail:
                    continue
                appeals.append(Appeal(
                    ref=f"tipdm:{name}:{row['id']}", user=row.get("user") or row["id"], time=created,
                    title=title[:200], detail=detail, reply=(row.get("reply") or "").strip(),
                    reply_time=_parse_time(row.get("reply_time") or ""),
                ))
    return appeals


# Built-in appeals set in the district, used for the history when the public
# data are absent and for the live orders of the demo.
# (title, content, category path, appeal type, street or "" for any)
TEMPLATES = [
    ("{road}{no}弄门口路灯不亮", "{road}{no}弄小区门口的路灯已经连续一周不亮，晚上老人出行很不方便，请尽快修复。",
     "城乡建设/城市建设和市政管理/城市公共设施", AppealType.REQUEST, "曲阳路"),
    ("{road}人行道地砖松动", "{road}{no}号附近人行道地砖大面积松动翘起，下雨天踩上去溅水，已有行人绊倒，请派人维修。",
     "城乡建设/城市建设和市政管理/基础设施", AppealType.REQUEST, "曲阳路"),
    ("{road}{no}弄垃圾箱房满溢无人清运", "{road}{no}弄垃圾箱房连续两天没有清运，湿垃圾满溢，气味很大，招来蚊蝇。",
     "城乡建设/城市建设和市政管理/环境卫生", AppealType.COMPLAINT, "曲阳路"),
    ("{road}沿街商铺占道经营", "{road}{no}号附近几家水果店把货架摆到人行道上，行人只能走机动车道，很危险。",
     "城乡建设/城市建设和市政管理/城管执法", AppealType.COMPLAINT, "曲阳路"),
    ("{road}{no}弄行道树树枝遮挡窗户", "{road}{no}弄楼前行道树多年未修剪，树枝已经伸到三楼窗口，台风天担心折断，请修剪。",
     "城乡建设/城市建设和市政管理/园林绿化", AppealType.REQUEST, "曲阳路"),
    ("{road}{no}弄小区非机动车乱停放", "{road}{no}弄小区内电瓶车乱停，堵住消防通道，还有人在楼道里充电，请社区管理。",
     "城乡建设/城市建设和市政管理/小区管理", AppealType.REQUEST, "曲阳路"),
    ("{road}{no}弄居委活动室开放时间咨询", "想了解{road}{no}弄所在居委的老年活动室开放时间和报名方式。",
     "民政/基层选举和社区建设/社区建设", AppealType.CONSULTATION, "曲阳路"),
    ("{road}工地夜间施工噪音扰民", "{road}{no}号旁的工地每天晚上十点以后还在施工，噪音很大，影响居民休息，请查处。",
     "城乡建设/工程质量/施工安全", AppealType.COMPLAINT, ""),
    ("{road}工地围挡破损存在安全隐患", "{road}{no}号附近在建工地围挡倒伏破损，旁边就是小学上学路线，请督促施工方整改。",
     "城乡建设/工程质量/施工安全", AppealType.REPORT, ""),
    ("反映{road}某装修公司拖欠工程款", "本人在{road}{no}号的装修工程完工三个月，承包方一直拖欠我们工人的工程款，请帮助协调。",
     "城乡建设/建筑市场/拖欠工程款", AppealType.REQUEST, ""),
    ("咨询老房装修施工时间规定", "家住{road}{no}弄，准备装修老房子，想咨询本区住宅装修允许施工的时间段和需要办理的手续。",
     "城乡建设/工程质量/其他", AppealType.CONSULTATION, ""),
    ("{road}超市销售过期食品", "在{road}{no}号的超市买到过期两个月的酸奶，要求商家处理并希望有关部门检查。",
     "卫生计生/食品药品监管/食品安全", AppealType.COMPLAINT, ""),
    ("{road}餐饮店后厨卫生差", "{road}{no}号一家外卖餐饮店后厨脏乱，老鼠出没，请市场监管部门检查。",
     "卫生计生/食品药品监管/食品安全", AppealType.REPORT, ""),
    ("{road}{no}弄电梯频繁故障", "{road}{no}弄高层住宅电梯一个月内故障三次，有一次困人半小时，维保单位敷衍，请检查电梯安全。",
     "商贸旅游/质监检验检疫/特种设备管理", AppealType.COMPLAINT, ""),
    ("{road}药店价格不明码标价", "{road}{no}号药店多种药品没有标价，结账时价格明显高于其他药店。",
     "商贸旅游/市场监管/物价监督", AppealType.COMPLAINT, ""),
    ("{road}健身房预付卡关门无法退费", "在{road}{no}号的健身房办了年卡，现在门店突然关闭，联系不上老板，请帮助维权。",
     "商贸旅游/市场监管/其他", AppealType.COMPLAINT, ""),
    ("咨询个体工商户营业执照办理", "想在{road}开一家小吃店，咨询个体工商户营业执照怎么办理、需要哪些材料。",
     "商贸旅游/市场监管/其他", AppealType.CONSULTATION, ""),
    ("{road}饭店油烟直排", "{road}{no}号饭店的油烟没有经过净化直接排到居民楼，窗户都不敢开，请处理。",
     "环境保护/环境污染/大气污染", AppealType.COMPLAINT, ""),
    ("{road}{no}弄楼下KTV噪音扰民", "{road}{no}弄楼下的KTV每天营业到凌晨两点，低音炮震得睡不着觉。",
     "环境保护/环境污染/噪音污染", AppealType.COMPLAINT, ""),
    ("{road}{no}弄小区物业不作为", "{road}{no}弄小区物业对楼道堆物、绿化损坏等问题长期不处理，业主多次反映无果。",
     "城乡建设/住房保障与房地产/物业服务", AppealType.COMPLAINT, ""),
    ("咨询公租房申请条件", "本人在虹口工作，想咨询公共租赁住房的申请条件和办理流程。",
     "城乡建设/住房保障与房地产/保障性住房", AppealType.CONSULTATION, ""),
    ("公司拖欠工资", "我在{road}{no}号的一家公司工作，公司已经两个月没有发工资，请劳动监察部门介入。",
     "劳动和社会保障/工资福利/工资发放", AppealType.COMPLAINT, ""),
    ("咨询灵活就业人员医保缴费", "本人灵活就业，想咨询城镇职工医疗保险的缴费基数和办理地点。",
     "劳动和社会保障/城镇职工社会保险/职工医疗保险", AppealType.CONSULTATION, ""),
    ("{road}学校门口接送时段交通拥堵", "{road}上的小学每天放学时门口车辆乱停，建议增设临时停车区域和交通协管员。",
     "政法/交通管理/交通安全管理", AppealType.SUGGESTION, ""),
    ("{road}公交站候车亭破损", "{road}{no}号公交站的候车亭顶棚破了，下雨天无法避雨，请维修。",
     "城乡建设/城市建设和市政管理/公共汽车", AppealType.REQUEST, ""),
    ("{road}校外培训机构违规收费", "{road}{no}号的一家校外培训机构一次性收取两年学费，并拒绝退费。",
     "教育文体/教育行政管理/校外机构管理", AppealType.COMPLAINT, ""),
    ("表扬{road}街道工作人员", "{road}{no}弄的电梯加装过程中，街道工作人员多次上门协调，服务热情，特此表扬。",
     "民政/基层选举和社区建设/社区建设", AppealType.PRAISE, ""),
]

ROADS = {
    "欧阳路": ["欧阳路", "东体育会路", "大连西路"],
    "曲阳路": ["曲阳路", "玉田路", "赤峰路", "中山北一路"],
    "广中路": ["广中路", "水电路", "西江湾路"],
    "嘉兴路": ["嘉兴路", "海伦路", "东宝兴路"],
    "凉城新村": ["凉城路", "汶水东路", "车站北路"],
    "四川北路": ["四川北路", "多伦路", "山阴路"],
    "北外滩": ["东大名路", "长治路", "海宁路"],
    "江湾镇": ["新市南路", "场中路", "丰镇路"],
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def synthetic_phone(user: str) -> str:
    """A clearly fake mobile number (170: a virtual-operator range), the same for the same caller."""
    return f"170{_digest('phone:' + user) % 10**8:08d}"


def synthetic_name(user: str) -> str:
    n = _digest("name:" + user)
    return SURNAMES[n % len(SURNAMES)] + ("先生" if (n >> 16) % 2 else "女士")


def fill_template(index: int, rng: random.Random, streets: list[str]) -> tuple[str, str, str, str, str]:
    """One appeal text from a template: (title, content, category path, appeal type, street name)."""
    title, content, path, appeal_type, street = TEMPLATES[index % len(TEMPLATES)]
    street = street or streets[rng.randrange(len(streets))]
    road = rng.choice(ROADS.get(street, [street]))
    values = {"road": road, "no": rng.randrange(10, 1200, 2)}
    return title.format(**values), content.format(**values), path, appeal_type, street


def template_appeals(count: int, *, end: dt.datetime, days: int = 330) -> list[Appeal]:
    """``count`` appeals spread over ``days`` days before ``end``, from the built-in texts."""
    rng = random.Random(12345)
    streets = list(ROADS)
    appeals = []
    for i in range(count):
        title, content, path, appeal_type, _street = fill_template(rng.randrange(len(TEMPLATES)), rng, streets)
        created = end - dt.timedelta(days=rng.uniform(0, days))
        created = created.astimezone(SHANGHAI).replace(hour=rng.randrange(8, 21), minute=rng.randrange(60), second=0,
                                                        microsecond=0)
        appeals.append(Appeal(ref=f"yiwang-demo:template:{i + 1}", user=f"demo-caller-{rng.randrange(count // 3)}",
                              time=created, title=title, detail=content, category_path=path, appeal_type=appeal_type))
    return appeals


# --- classification ------------------------------------------------------------

# Everyday words that the official category names do not contain.
KEYWORDS = {
    "物业": "城乡建设/住房保障与房地产/物业服务",
    "业委会": "城乡建设/住房保障与房地产/物业服务",
    "噪音": "环境保护/环境污染/噪音污染",
    "噪声": "环境保护/环境污染/噪音污染",
    "扰民": "环境保护/环境污染/噪音污染",
    "油烟": "环境保护/环境污染/大气污染",
    "粉尘": "环境保护/环境污染/大气污染",
    "污水": "环境保护/环境污染/水污染",
    "排污": "环境保护/环境污染/水污染",
    "垃圾": "城乡建设/城市建设和市政管理/环境卫生",
    "路灯": "城乡建设/城市建设和市政管理/城市公共设施",
    "修路": "城乡建设/城市建设和市政管理/基础设施",
    "下水道": "城乡建设/城市建设和市政管理/基础设施",
    "停车": "城乡建设/城市建设和市政管理/小区管理",
    "占道": "城乡建设/城市建设和市政管理/城管执法",
    "违建": "城乡建设/城乡规划/违章建筑",
    "违章搭建": "城乡建设/城乡规划/违章建筑",
    "拆迁": "城乡建设/国有土地上房屋征收与补偿/房屋拆迁",
    "征收": "城乡建设/国有土地上房屋征收与补偿/安置补偿",
    "开发商": "城乡建设/住房保障与房地产/房地产开发管理",
    "交房": "城乡建设/住房保障与房地产/房地产开发管理",
    "商品房": "城乡建设/住房保障与房地产/房地产开发管理",
    "公积金": "城乡建设/住房保障与房地产/住房公积金",
    "公租房": "城乡建设/住房保障与房地产/保障性住房",
    "廉租房": "城乡建设/住房保障与房地产/保障性住房",
    "停水": "城乡建设/城市建设和市政管理/自来水供应",
    "水压": "城乡建设/城市建设和市政管理/自来水供应",
    "停电": "城乡建设/城市建设和市政管理/电力供应",
    "供电": "城乡建设/城市建设和市政管理/电力供应",
    "高压线": "城乡建设/城市建设和市政管理/电力供应",
    "饮水": "城乡建设/城市建设和市政管理/自来水供应",
    "退房": "城乡建设/住房保障与房地产/房地产开发管理",
    "公园": "城乡建设/城市建设和市政管理/公园管理",
    "天然气": "城乡建设/城市建设和市政管理/燃气供应",
    "公交": "城乡建设/城市建设和市政管理/公共汽车",
    "地铁": "城乡建设/城市建设和市政管理/地铁城铁",
    "欠薪": "劳动和社会保障/工资福利/工资发放",
    "拖欠工资": "劳动和社会保障/工资福利/工资发放",
    "工资": "劳动和社会保障/工资福利/工资发放",
    "社保": "劳动和社会保障/城镇职工社会保险/职工养老保险",
    "养老金": "劳动和社会保障/退休政策及待遇/退休金发放",
    "医保": "劳动和社会保障/城镇职工社会保险/职工医疗保险",
    "劳动合同": "劳动和社会保障/劳动关系/劳动合同纠纷",
    "学校": "教育文体/教育行政管理/教学管理",
    "幼儿园": "教育文体/教育行政管理/民办学校",
    "学位": "教育文体/考试招生/招生录取",
    "入学": "教育文体/考试招生/招生录取",
    "补课": "教育文体/教育行政管理/校外机构管理",
    "医院": "卫生计生/医政监管/医疗技术和服务",
    "食品": "卫生计生/食品药品监管/食品安全",
    "电梯": "商贸旅游/质监检验检疫/特种设备管理",
    "价格": "商贸旅游/市场监管/物价监督",
    "诈骗": "政法/社会治安/治安案件",
    "出租车": "交通运输/出租车管理/行业监管",
    "网约车": "交通运输/出租车管理/网约车问题",
    "户口": "政法/户籍证件/户籍管理",
    "落户": "政法/户籍证件/户籍管理",
    "消防": "政法/社会治安/消防安全",
    "快递": "交通运输/邮政管理/快递市场管理",
    "宽带": "科技与信息产业/电信/其他",
}
GENERIC_NAMES = {"其他", "其他污染"}


class CategoryMatcher:
    """Picks a level-3 category for a text by counting category names and keywords in it.

    A hit in the title counts three times a hit in the detail; among equal
    scores the longer (more specific) term wins. One compiled alternation
    scans each text once, so thousands of appeals take well under a second.
    """

    def __init__(self, categories: Iterable[Category]):
        categories = sorted(categories, key=lambda c: c.code)
        by_path = {c.path: c for c in categories}
        self.default = by_path.get(DEFAULT_CATEGORY) or next(c for c in categories if c.level == 3)
        self.by_path = by_path
        self.terms: dict[str, Category] = {}
        leaves_of: dict[int, Category] = {}
        for c in categories:
            if c.level == 3:
                # The level-2 node stands for its "其他" leaf, else its first leaf.
                if c.parent_id not in leaves_of or c.name == "其他":
                    leaves_of[c.parent_id] = c
        for c in categories:
            if c.level == 2 and c.pk in leaves_of and c.name not in GENERIC_NAMES:
                self.terms.setdefault(c.name, leaves_of[c.pk])
        for c in categories:  # level-3 names override level-2 ones of the same wording
            if c.level == 3 and len(c.name) >= 2 and c.name not in GENERIC_NAMES:
                self.terms[c.name] = c
        for word, path in KEYWORDS.items():
            if path in by_path:
                self.terms.setdefault(word, by_path[path])
        pattern = "|".join(re.escape(t) for t in sorted(self.terms, key=len, reverse=True))
        self.regex = re.compile(pattern)

    def match(self, title: str, detail: str) -> Category:
        scores: dict[int, float] = {}
        best: dict[int, Category] = {}
        for text, weight in ((title, 3.0), (detail, 1.0)):
            for hit in self.regex.finditer(text):
                term = hit.group(0)
                category = self.terms[term]
                scores[category.pk] = scores.get(category.pk, 0.0) + weight + len(term) / 100
                best[category.pk] = category
        if not scores:
            return self.default
        return best[max(scores, key=scores.get)]


APPEAL_TYPE_WORDS = [
    (AppealType.PRAISE, ("表扬", "感谢", "点赞")),
    (AppealType.REPORT, ("举报",)),
    (AppealType.COMPLAINT, ("投诉", "扰民", "不作为", "乱收费")),
    (AppealType.SUGGESTION, ("建议", "希望", "呼吁")),
    (AppealType.CONSULTATION, ("咨询", "请问", "能否", "是否", "怎么办", "如何")),
]


def appeal_type_for(title: str) -> str:
    for appeal_type, words in APPEAL_TYPE_WORDS:
        if any(w in title for w in words):
            return appeal_type
    return AppealType.REQUEST


def _resolved_calendar(start: dt.date, days: int) -> WorkingCalendar:
    """The working calendar with every day of the window decided up front.

    The same answers as :func:`load_calendar` (table overrides, then the
    library), looked up once per day instead of once per deadline step: the
    library's own lookup dominated the import's time.
    """
    base = load_calendar(start, days=days)
    decided = {start + dt.timedelta(days=i): base.is_working_day(start + dt.timedelta(days=i)) for i in range(days)}
    return WorkingCalendar(decided, start_hour=base.start_hour, end_hour=base.end_hour)


# --- the shared lookups -----------------------------------------------------------

@dataclass
class Directory:
    """Everything the builder looks up, loaded once: a handful of queries for the whole import."""

    calendar: WorkingCalendar
    matcher: CategoryMatcher
    streets: list[Street]
    committees: dict[int, list[Committee]]
    rules: dict[tuple[str, str], object]
    staff: dict[int, object]  # unit id -> a demo account of that unit
    operator: object
    dispatcher: object
    supervisor: object
    fallback_unit: Unit
    routes: dict = field(default_factory=dict)

    @classmethod
    def load(cls, start: dt.date, end: dt.date) -> "Directory":
        User = get_user_model()
        users = {u.username: u for u in User.objects.filter(username__in=["operator", "dispatcher", "supervisor"])}
        staff = {}
        unit_staff = User.objects.filter(role__in=["unit_handler", "unit_leader"], unit__isnull=False)
        for user in unit_staff.order_by("role", "pk"):  # handlers sort before leaders: they do the daily work
            staff.setdefault(user.unit_id, user)
        committees: dict[int, list[Committee]] = {}
        for committee in Committee.objects.order_by("code"):
            committees.setdefault(committee.street_id, []).append(committee)
        return cls(
            calendar=_resolved_calendar(start - dt.timedelta(days=2), days=(end - start).days + 400),
            matcher=CategoryMatcher(Category.objects.filter(active=True)),
            streets=list(Street.objects.order_by("code")),
            committees=committees,
            rules={(t, u): sla.rule_for(t, u) for t in AppealType.values for u in Urgency.values},
            staff=staff,
            operator=users.get("operator"),
            dispatcher=users.get("dispatcher"),
            supervisor=users.get("supervisor"),
            fallback_unit=Unit.objects.get(code=FALLBACK_UNIT),
        )

    def route(self, category: Category, street: Street):
        key = (category.pk, street.pk)
        if key not in self.routes:
            routed = route_for(category, street)
            lead = routed.lead_unit or self.fallback_unit
            self.routes[key] = (lead, [u for u in routed.co_units if u != lead], routed.rule)
        return self.routes[key]


# --- one order's lifecycle ---------------------------------------------------------

REPLY_TEMPLATE = ("您好！您反映的“{title}”问题已收悉。经{unit}调查核实，已安排相关人员现场处理，"
                  "并将加强日常巡查。感谢您对我们工作的关心和支持。")
REOPEN_REPLY = "您好！针对您回访中提出的意见，{unit}已再次到现场核查，问题已按要求整改完毕。"
ARCHIVE_NOTE = "回访不满意；经核实已按政策规定答复，诉求超出办理范围，予以归档。"
REOPEN_NOTE = "回访不满意：市民反映问题仍未解决，重新交办。"
EXTENSION_NOTE = "涉及多个部门协调，需要现场勘查后制定方案，申请延期。"


@dataclass
class Plan:
    """The rows of one historical order before they get primary keys."""

    order: WorkOrder
    events: list[Event] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    extensions: list[ExtensionRequest] = field(default_factory=list)
    # (event, data key, row) whose primary key goes into the event's data once saved
    links: list[tuple[Event, str, object]] = field(default_factory=list)


class Builder:
    """Plays one appeal through register → dispatch → sign → reply → review → follow-up → archive.

    Every status change is checked against the transition table, exactly as
    the services check it, so a bad plan fails loudly instead of writing an
    impossible history.
    """

    def __init__(self, directory: Directory):
        self.d = directory
        self.cal = directory.calendar

    def hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        return self.cal.add_working_hours(start, max(hours, 0.0))

    def build(self, appeal: Appeal) -> Plan:
        d, rng = self.d, random.Random(appeal.ref)
        category = d.matcher.by_path.get(appeal.category_path) or d.matcher.match(appeal.title, appeal.detail)
        street = d.streets[_digest(appeal.ref) % len(d.streets)]
        committees = d.committees.get(street.pk) or [None]
        committee = committees[_digest("committee:" + appeal.ref) % len(committees)]
        order = WorkOrder(
            channel=Channel.WEB, appeal_type=appeal.appeal_type or appeal_type_for(appeal.title),
            urgency=Urgency.NORMAL, title=appeal.title, content=appeal.detail, category=category,
            street=street, committee=committee, address=f"{committee.name}辖区" if committee else "",
            appellant_name=synthetic_name(appeal.user), appellant_phone=synthetic_phone(appeal.user),
            status=Status.REGISTERED, external_ref=appeal.ref[:64], registered_by=d.operator,
            created_at=appeal.time,
        )
        plan = Plan(order=order)
        self.event(plan, Action.REGISTER, Status.REGISTERED, appeal.time, actor=d.operator,
                   data={"channel": order.channel})
        lead, co_units, rule = d.route(category, street)
        # A reply dated before (or right at) the appeal is a data error: generate the handling instead.
        usable = appeal.reply and appeal.reply_time and appeal.reply_time > appeal.time + dt.timedelta(hours=1)
        real_reply = appeal.reply_time if usable else None
        start = self.dispatch(plan, appeal.time, lead, co_units, rule, rng, reply_by=real_reply)
        text = appeal.reply if real_reply else REPLY_TEMPLATE.format(title=appeal.title[:40], unit=lead.name)
        reply_at = self.handle(plan, start, rng, reply_at=real_reply, text=text)
        closed = self.review_and_follow_up(plan, reply_at, rng, allow_reopen=True)
        if not closed:
            self.reopen(plan, rng)
        return plan

    # -- steps --

    def event(self, plan: Plan, action: str, to: str, at: dt.datetime, *, actor=None, unit=None, reason="",
              data=None, edge: bool = True) -> Event:
        """Append an event and move the status; ``edge=False`` for the co-unit's sign, which moves nothing."""
        order = plan.order
        if edge and not allowed(action, order.status if plan.events else None, to):
            raise ValueError(f"history plan for {order.external_ref}: {action} {order.status} -> {to} is not an edge")
        event = Event(action=action, from_status=order.status if plan.events else "", to_status=to, actor=actor,
                      unit=unit, reason=reason, data=data or {}, created_at=at)
        order.status = to
        plan.events.append(event)
        return event

    def dispatch(self, plan: Plan, after: dt.datetime, lead: Unit, co_units: list[Unit], rule, rng,
                 *, reply_by: dt.datetime | None, action: str = Action.DISPATCH) -> dt.datetime:
        """Dispatch (or re-dispatch on reopen) and sign; returns the sign time."""
        order, d = plan.order, self.d
        at = self.hours(after, rng.uniform(0.1, 2.0))
        if reply_by is not None:
            at = min(at, after + (reply_by - after) * 0.1)
        for assignment in plan.assignments:
            assignment.active = False
        plan.assignments += [
            Assignment(unit=u, role=Assignment.Role.LEAD if u == lead else Assignment.Role.CO, dispatched_at=at,
                       dispatched_by=d.dispatcher)
            for u in [lead, *co_units]
        ]
        order.lead_unit, order.dispatched_at, order.extension_hours = lead, at, Decimal(0)
        order.sla_state, order.sign_overdue = SlaState.NORMAL, False
        self.set_deadlines(order)
        if action == Action.DISPATCH:
            self.event(plan, action, Status.DISPATCHED, at, actor=d.dispatcher, unit=lead,
                       data={"lead_unit": lead.pk, "co_units": [u.pk for u in co_units],
                             "rule": rule.pk if rule else None, "handle_deadline": order.handle_deadline.isoformat()})
        else:
            order.reopen_count += 1
            self.event(plan, action, Status.DISPATCHED, at, actor=d.dispatcher, unit=lead, reason=REOPEN_NOTE,
                       data={"round": order.reopen_count + 1})
        sign_at = self.hours(at, rng.uniform(0.1, 1.8) if rng.random() < 0.93 else rng.uniform(2, 12))
        if reply_by is not None:
            sign_at = min(sign_at, at + (reply_by - at) * 0.1)
        self.sweep_sign(plan, sign_at)
        order.signed_at = sign_at
        active = [a for a in plan.assignments if a.active]
        for assignment in active:
            assignment.signed_at = sign_at
            assignment.signed_by = d.staff.get(assignment.unit.pk)
        self.event(plan, Action.SIGN, Status.HANDLING, sign_at, actor=d.staff.get(lead.pk), unit=lead)
        for assignment in active[1:]:
            self.event(plan, Action.SIGN, Status.HANDLING, sign_at, actor=assignment.signed_by, unit=assignment.unit,
                       data={"role": "co"}, edge=False)
        return sign_at

    def set_deadlines(self, order: WorkOrder) -> None:
        deadlines = sla.compute_deadlines(
            clock_start=order.dispatched_at, rule=self.d.rules[(order.appeal_type, order.urgency)],
            extension_hours=order.extension_hours, calendar=self.cal,
        )
        order.sign_deadline, order.handle_deadline, order.yellow_at = deadlines.sign, deadlines.handle, deadlines.yellow

    def sweep_sign(self, plan: Plan, sign_at: dt.datetime) -> None:
        """What the minute-by-minute sweep wrote while the order waited to be signed."""
        order = plan.order
        if sign_at > order.sign_deadline:
            order.sign_overdue = True
            self.event(plan, Action.SIGN_OVERDUE, order.status, order.sign_deadline,
                       reason=Action.SIGN_OVERDUE.label, data={"sign_overdue": "True"})

    def sweep_handling(self, plan: Plan, reply_at: dt.datetime) -> None:
        order = plan.order
        for state, moment, action in ((SlaState.YELLOW, order.yellow_at, Action.SLA_YELLOW),
                                      (SlaState.RED, order.handle_deadline, Action.SLA_RED)):
            if moment < reply_at and order.sla_state != SlaState.RED:
                # Before the sign time the sweep saw a dispatched order; the event order must follow time.
                status = Status.DISPATCHED if moment < order.signed_at else Status.HANDLING
                event = Event(action=action, from_status=status, to_status=status, reason=action.label,
                              data={"sla_state": str(state)}, created_at=moment)
                plan.events.append(event)
                order.sla_state = state
        plan.events.sort(key=lambda e: e.created_at)

    def handle(self, plan: Plan, sign_at: dt.datetime, rng: random.Random, *, reply_at: dt.datetime | None,
               text: str) -> dt.datetime:
        """The unit's handling up to the reply: an extension where the reply came late, then the sweep's warnings."""
        order, d = plan.order, self.d
        handle_hours = float(d.rules[(order.appeal_type, order.urgency)].handle_hours)
        if reply_at is None:
            share = rng.betavariate(2.2, 4.0) * 1.45  # mostly well inside the limit, a tail beyond it
            reply_at = self.hours(order.dispatched_at, handle_hours * share)
        reply_at = max(reply_at, sign_at + dt.timedelta(minutes=20))
        if reply_at > order.handle_deadline and rng.random() < 0.75:
            self.extend(plan, sign_at, reply_at, handle_hours, rng)
        self.sweep_handling(plan, reply_at)
        order.reply, order.replied_at = text, reply_at
        lead = order.lead_unit
        self.event(plan, Action.REPLY, Status.REPLIED, reply_at, actor=d.staff.get(lead.pk), unit=lead, reason=text,
                   data={"on_time": reply_at <= order.handle_deadline})
        return reply_at

    def extend(self, plan: Plan, sign_at: dt.datetime, reply_at: dt.datetime, handle_hours: float, rng) -> None:
        """延期 requested half-way to the warning and approved before it, long enough to cover the real reply."""
        order, d = plan.order, self.d
        halfway = order.dispatched_at + (order.yellow_at - order.dispatched_at) / 2
        asked = max(sign_at + dt.timedelta(minutes=10), halfway)
        decided = self.hours(asked, rng.uniform(0.5, 4))
        if not (decided < order.yellow_at and decided < reply_at):
            return
        needed = self.cal.working_hours_between(order.dispatched_at, reply_at) - handle_hours
        hours = Decimal(min(480, 8 * math.ceil((needed + rng.uniform(2, 16)) / 8)))
        lead, actor = order.lead_unit, d.staff.get(order.lead_unit.pk)
        request = ExtensionRequest(unit=lead, hours=hours, reason=EXTENSION_NOTE, requested_by=actor,
                                   requested_at=asked, decision=Decision.APPROVED, decided_by=d.dispatcher,
                                   decided_at=decided)
        plan.extensions.append(request)
        asked_event = self.event(plan, Action.REQUEST_EXTENSION, order.status, asked, actor=actor, unit=lead,
                                 reason=EXTENSION_NOTE, data={"hours": str(hours)})
        order.extension_hours = hours
        self.set_deadlines(order)  # approved before the warning: the state stays normal
        decided_event = self.event(plan, Action.APPROVE_EXTENSION, order.status, decided, actor=d.dispatcher, unit=lead,
                                   data={"hours": str(hours), "handle_deadline": order.handle_deadline.isoformat()})
        plan.links += [(asked_event, "request", request), (decided_event, "request", request)]

    def review_and_follow_up(self, plan: Plan, reply_at: dt.datetime, rng: random.Random, *,
                             allow_reopen: bool) -> bool:
        """Review, follow-up call and the close; False when a dissatisfied appellant gets a reopen."""
        order, d = plan.order, self.d
        reviewer = d.dispatcher if rng.random() < 0.7 else d.supervisor
        approved = self.hours(reply_at, rng.uniform(0.2, 4))
        self.event(plan, Action.APPROVE_REPLY, Status.FOLLOW_UP, approved, actor=reviewer)
        called = self.hours(approved, rng.uniform(1, 16))
        roll = rng.random()
        satisfaction = (Satisfaction.SATISFIED if roll < 0.80 else
                        Satisfaction.BASICALLY if roll < 0.91 else Satisfaction.DISSATISFIED)
        resolved = rng.random() < {Satisfaction.SATISFIED: 0.97, Satisfaction.BASICALLY: 0.8}.get(satisfaction, 0.25)
        if not allow_reopen and satisfaction == Satisfaction.DISSATISFIED:
            satisfaction = Satisfaction.BASICALLY
        record = FollowUp(round=order.reopen_count + 1, satisfaction=satisfaction, resolved=resolved, by=d.operator,
                          at=called)
        plan.follow_ups.append(record)
        order.satisfaction, order.resolved = satisfaction, resolved
        closes = satisfaction != Satisfaction.DISSATISFIED
        event = self.event(plan, Action.FOLLOW_UP, Status.ARCHIVED if closes else Status.FOLLOW_UP, called,
                           actor=d.operator, data={"satisfaction": str(satisfaction), "resolved": resolved})
        plan.links.append((event, "follow_up", record))
        if closes:
            order.closed_at = called
            return True
        if rng.random() < 0.6:  # most dissatisfied answers were already all that policy allows
            archived = self.hours(called, rng.uniform(2, 16))
            order.closed_at = archived
            self.event(plan, Action.ARCHIVE, Status.ARCHIVED, archived, actor=d.supervisor, reason=ARCHIVE_NOTE)
            return True
        return False

    def reopen(self, plan: Plan, rng: random.Random) -> None:
        order = plan.order
        lead = order.lead_unit
        co_units = [a.unit for a in plan.assignments if a.active and a.role == Assignment.Role.CO]
        last = plan.events[-1].created_at
        order.signed_at = order.replied_at = order.closed_at = None
        order.reply, order.satisfaction, order.resolved = "", "", None
        sign_at = self.dispatch(plan, last, lead, co_units, None, rng, reply_by=None, action=Action.REOPEN)
        reply_at = self.handle(plan, sign_at, random.Random(order.external_ref + ":reopen"), reply_at=None,
                               text=REOPEN_REPLY.format(unit=lead.name))
        self.review_and_follow_up(plan, reply_at, rng, allow_reopen=False)


# --- writing ----------------------------------------------------------------------

def _save(plans: list[Plan]) -> None:
    """Bulk-write the plans: orders first, then the rows that point at them."""
    orders = [p.order for p in plans]
    WorkOrder.objects.bulk_create(orders, batch_size=BATCH)
    for order in orders:
        order.number = order_number(order.created_at, order.pk)
    WorkOrder.objects.bulk_update(orders, ["number"], batch_size=BATCH)
    children = {Assignment: [], FollowUp: [], ExtensionRequest: []}
    for plan in plans:
        for rows in (plan.assignments, plan.follow_ups, plan.extensions):
            for row in rows:
                row.order = plan.order
                children[type(row)].append(row)
    for model, rows in children.items():
        model.objects.bulk_create(rows, batch_size=BATCH)
    events = []
    for plan in plans:
        for event, key, row in plan.links:
            event.data[key] = row.pk
        for event in plan.events:
            event.order = plan.order
            events.append(event)
    Event.objects.bulk_create(events, batch_size=BATCH)


def import_history(appeals: list[Appeal], *, stdout=None, chunk: int = 2000) -> dict:
    """Write closed work orders for ``appeals``; returns counts. Call it on a database without orders."""
    if not appeals:
        return {"orders": 0, "events": 0}
    appeals = sorted(appeals, key=lambda a: (a.time, a.ref))
    directory = Directory.load(appeals[0].time.date(), appeals[-1].time.date())
    builder = Builder(directory)
    totals = {"orders": 0, "events": 0, "overdue": 0, "extended": 0, "reopened": 0, "dissatisfied": 0}
    for i in range(0, len(appeals), chunk):
        plans = [builder.build(a) for a in appeals[i:i + chunk]]
        _save(plans)
        for plan in plans:
            order = plan.order
            totals["orders"] += 1
            totals["events"] += len(plan.events)
            totals["overdue"] += any(e.action == Action.SLA_RED for e in plan.events)
            totals["extended"] += bool(plan.extensions)
            totals["reopened"] += order.reopen_count > 0
            totals["dissatisfied"] += any(f.satisfaction == Satisfaction.DISSATISFIED for f in plan.follow_ups)
        if stdout:
            stdout.write(f"  history: {totals['orders']}/{len(appeals)} work orders written\n")
            stdout.flush()
    return totals


def seed_history(*, stdout=None, now: dt.datetime | None = None) -> dict:
    """The demo history: the public appeals when ``settings.DATA_DIR`` has them, else built-in texts."""
    started = time.monotonic()
    data_dir = Path(settings.DATA_DIR)
    appeals = load_appeals(data_dir)
    if appeals:
        source = f"public appeals in {data_dir} (2020 TipDM Cup, problem C)"
    else:
        appeals = template_appeals(TEMPLATE_HISTORY_SIZE, end=(now or timezone.now()) - dt.timedelta(days=60))
        source = "built-in template texts (no public appeals found in DATA_DIR)"
    if stdout:
        stdout.write(f"Importing demo history: {len(appeals)} appeals from {source}\n")
        stdout.flush()
    totals = import_history(appeals, stdout=stdout)
    totals["seconds"] = round(time.monotonic() - started, 1)
    return totals
