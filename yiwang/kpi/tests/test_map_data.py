"""The dashboard's map data: schematic street points inside the district outline."""

import json
from pathlib import Path

import pytest

from yiwang.org.models import Street

DATA = Path(__file__).resolve().parent.parent / "data"


def inside(lon, lat, ring) -> bool:
    """Ray casting: does (lon, lat) lie inside the closed ring?"""
    hit = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            hit = not hit
    return hit


def load():
    outline = json.loads((DATA / "hongkou_outline.geojson").read_text(encoding="utf-8"))
    streets = json.loads((DATA / "streets.json").read_text(encoding="utf-8"))["streets"]
    return outline["features"][0], {s["code"]: s for s in streets}


def test_every_street_point_lies_inside_hongkou():
    feature, streets = load()
    assert feature["properties"]["name"] == "虹口区"
    ring = feature["geometry"]["coordinates"][0][0]
    assert len(streets) == 8
    for s in streets.values():
        assert inside(s["lon"], s["lat"], ring), s["name"]
    assert not inside(121.4737, 31.2304, ring)  # People's Square, Huangpu


def test_points_keep_the_streets_north_south_order():
    _, s = load()
    # 江湾镇 is the northernmost, 北外滩 the southernmost; 凉城新村 lies west of 曲阳路.
    assert max(s.values(), key=lambda p: p["lat"])["name"] == "江湾镇街道"
    assert min(s.values(), key=lambda p: p["lat"])["name"] == "北外滩街道"
    assert s["310109016"]["lon"] < s["310109010"]["lon"]


@pytest.mark.django_db
def test_every_street_of_the_organisation_has_a_point():
    _, points = load()
    assert set(Street.objects.values_list("code", flat=True)) == set(points)
