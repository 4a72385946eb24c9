"""Demo register: 40 underground spaces across the 8 streets, their using units, one unit's account,
and a sample import file.

Names and addresses are made up in the shape of Hongkou's (estates, malls, civil-defence
works); coordinates are spread around each street's rough centre so the map views have
points to show. Deterministic: the same 40 spaces on every run, created once.
"""

from __future__ import annotations

import io
import random
from decimal import Decimal

from openpyxl import Workbook

from yiwang.org.models import Street

from . import importer
from .models import CivilDefenceGrade, RiskGrade, Space, SpaceType, UsingUnit

# Rough centres (WGS-84) of the 8 streets, by NBS code.
CENTRES = {
    "310109009": (31.2735, 121.4835),  # 欧阳路
    "310109010": (31.2830, 121.4890),  # 曲阳路
    "310109011": (31.2745, 121.4690),  # 广中路
    "310109014": (31.2600, 121.4880),  # 嘉兴路
    "310109016": (31.2960, 121.4770),  # 凉城新村
    "310109017": (31.2560, 121.4830),  # 四川北路
    "310109018": (31.2500, 121.4990),  # 北外滩
    "310109019": (31.3060, 121.4830),  # 江湾镇
}
PREFIX = {SpaceType.CIVIL_DEFENCE: "RF", SpaceType.GARAGE: "CK", SpaceType.BASEMENT: "DX", SpaceType.MALL: "SC"}
NAMES = {
    SpaceType.CIVIL_DEFENCE: ["{road}人防工程", "{road}小区人防地下室"],
    SpaceType.GARAGE: ["{road}花园地下车库", "{road}大厦地下停车场"],
    SpaceType.BASEMENT: ["{road}商务楼地下室", "{road}公寓地下室"],
    SpaceType.MALL: ["{road}地下商业街", "{road}广场地下商场"],
}
ROADS = ["东江湾路", "大连西路", "中山北一路", "水电路", "玉田路", "四平路", "塘沽路", "海宁路", "吴淞路", "丰镇路",
         "广灵四路", "车站北路", "临平路", "东长治路", "辽阳路", "新市路"]
UNITS = ["上海瑞虹物业管理有限公司", "上海虹房物业服务有限公司", "上海北外滩商业管理有限公司", "上海曲阳停车管理有限公司",
         "上海凉城物业有限公司", "上海江湾新城商业经营管理有限公司", "上海四川北路商业发展有限公司", "上海欧阳物业有限公司"]
DEMO_UNIT_USERNAME = "space-unit"
SPACES_PER_STREET = 5


def seed_spaces(*, unit_account=None, seed: int = 6) -> int:
    """The demo register; returns how many spaces were created (0 when it is there already)."""
    if Space.objects.exists():
        return 0
    rng = random.Random(seed)
    units = [UsingUnit.objects.get_or_create(name=name, defaults={"credit_code": f"91310109MA1G{i:06d}"})[0]
             for i, name in enumerate(UNITS, start=1)]
    if unit_account is not None:
        units[0].users.add(unit_account)
    kinds = list(PREFIX)
    serial, spaces = 0, []
    for street in Street.objects.order_by("code"):
        lat0, lon0 = CENTRES.get(street.code, (31.27, 121.48))
        for _ in range(SPACES_PER_STREET):
            serial += 1
            kind = kinds[serial % len(kinds)]
            road = rng.choice(ROADS)
            spaces.append(Space(
                code=f"HK-{PREFIX[kind]}-{serial:04d}", name=rng.choice(NAMES[kind]).format(road=road),
                address=f"虹口区{road}{rng.randint(1, 999)}号", street=street,
                latitude=Decimal(f"{lat0 + rng.uniform(-0.006, 0.006):.6f}"),
                longitude=Decimal(f"{lon0 + rng.uniform(-0.006, 0.006):.6f}"),
                space_type=kind, area_m2=Decimal(rng.randrange(300, 20000, 50)), floors=rng.choice([1, 1, 2, 2, 3]),
                using_unit=units[0] if serial <= 3 else rng.choice(units),
                safety_contact=rng.choice(["张伟", "王芳", "李强", "刘洋", "陈静", "杨军"]),
                safety_phone=f"139{rng.randrange(10**7, 10**8)}",
                civil_defence_grade=rng.choice([CivilDefenceGrade.N6, CivilDefenceGrade.C6, CivilDefenceGrade.N6B])
                if kind == SpaceType.CIVIL_DEFENCE else CivilDefenceGrade.NONE,
                risk_grade=rng.choice([RiskGrade.HIGH, RiskGrade.MEDIUM, RiskGrade.MEDIUM, RiskGrade.LOW]),
            ))
    for space in spaces:
        space.save()  # one by one, so each space starts its change history
    return len(spaces)


def sample_xlsx(rows: int = 20, *, with_errors: bool = True, seed: int = 7) -> bytes:
    """An import file in the template's layout: new spaces, plus a few broken rows to show the error report."""
    rng = random.Random(seed)
    book = Workbook()
    sheet = book.active
    sheet.title = "地下空间"
    sheet.append(importer.HEADERS)
    streets = list(Street.objects.order_by("code"))
    for n in range(rows):
        street = streets[n % len(streets)]
        lat0, lon0 = CENTRES.get(street.code, (31.27, 121.48))
        kind = rng.choice(list(PREFIX))
        road = rng.choice(ROADS)
        sheet.append([f"HK-{PREFIX[kind]}-{500 + n:04d}", rng.choice(NAMES[kind]).format(road=road),
                      f"虹口区{road}{rng.randint(1, 999)}号", street.name + "街道",
                      round(lat0 + rng.uniform(-0.005, 0.005), 6), round(lon0 + rng.uniform(-0.005, 0.005), 6),
                      kind.label, rng.randrange(300, 9000, 50), rng.choice([1, 2]), rng.choice(UNITS),
                      "赵敏", f"137{rng.randrange(10**7, 10**8)}", CivilDefenceGrade.NONE.label,
                      rng.choice(RiskGrade.labels)])
    if with_errors:
        sheet.append(["HK-XX-1", "编码格式错误的空间", "虹口区某路1号", "嘉兴路街道", 31.26, 121.48, "地下车库", 100, 1, "", "", "", "", ""])
        sheet.append(["HK-CK-0901", "坐标写反的车库", "虹口区某路2号", "嘉兴路街道", 121.48, 31.26, "地下车库", 100, 1, "", "", "", "", ""])
        sheet.append(["HK-CK-0902", "未知街道的车库", "虹口区某路3号", "外滩街道", 31.26, 121.48, "地下车库", 100, 1, "", "", "", "", ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
