"""Street resolution from addresses and text with the district gazetteer."""

import pytest

from yiwang.org.models import Committee, Street
from yiwang.smartdispatch import gazetteer
from yiwang.smartdispatch.models import Place, StreetSource

pytestmark = pytest.mark.django_db


def street_of(address="", text=""):
    result = gazetteer.resolve(address, text)
    return (result.street.name if result.street else None), result.source


def test_the_data_migration_loads_every_committee_and_the_csv():
    assert Place.objects.filter(kind=Place.Kind.COMMITTEE, name__endswith="居委会").count() == Committee.objects.count() == 198
    assert Place.objects.get(name="欧二居委").street.name == "欧阳路"
    assert Place.objects.filter(kind=Place.Kind.STREET).count() == Street.objects.count() == 8
    assert Place.objects.get(name="瑞虹新城").street.name == "嘉兴路"


@pytest.mark.parametrize("name", ["欧阳路", "曲阳路", "广中路", "嘉兴路", "四川北路"])
def test_a_road_named_like_a_street_is_the_road_and_decides_nothing(name):
    assert street_of(f"{name}100号") == (None, StreetSource.AMBIGUOUS)


def test_the_full_street_name_wins_over_the_road_inside_it():
    assert street_of("嘉兴路街道嘉兴路100号") == ("嘉兴路", StreetSource.GAZETTEER)


def test_another_clue_decides_an_ambiguous_road():
    assert street_of("嘉兴路100号（瑞虹新城）") == ("嘉兴路", StreetSource.GAZETTEER)
    assert street_of("四川北路多伦路口") == ("四川北路", StreetSource.GAZETTEER)


def test_committees_compounds_and_landmarks_resolve():
    assert street_of("", "我住在玉田新村，楼下餐馆油烟扰民") == ("曲阳路", StreetSource.GAZETTEER)
    assert street_of("东长治路500号") == ("北外滩", StreetSource.GAZETTEER)
    assert street_of("", "凉城新村第三居委会辖区路灯不亮") == ("凉城新村", StreetSource.GAZETTEER)
    assert street_of("", "国际客运中心附近乱停车") == ("北外滩", StreetSource.GAZETTEER)


def test_a_tie_between_streets_gives_no_street():
    assert street_of("", "瑞虹新城和玉田新村都有这个问题") == (None, StreetSource.AMBIGUOUS)


def test_the_address_outweighs_the_text():
    assert street_of("玉田新村12号", "以前住在瑞虹新城") == ("曲阳路", StreetSource.GAZETTEER)


def test_nothing_known_gives_no_street():
    assert street_of("某某路1号", "小区门口路灯不亮") == (None, StreetSource.NONE)


def test_clues_explain_the_decision():
    result = gazetteer.resolve("嘉兴路100号瑞虹新城")
    assert result.clues == ["瑞虹新城→嘉兴路街道", "嘉兴路→跨街道"]


def test_an_admin_edit_of_the_gazetteer_takes_effect_at_once():
    assert street_of("凉城路88号") == (None, StreetSource.AMBIGUOUS)
    place = Place.objects.get(name="凉城路")
    place.street = Street.objects.get(name="凉城新村")
    place.save()
    assert street_of("凉城路88号") == ("凉城新村", StreetSource.GAZETTEER)
    Place.objects.create(name="测试花园", kind=Place.Kind.COMPOUND, street=Street.objects.get(name="江湾镇"))
    assert street_of("测试花园5号") == ("江湾镇", StreetSource.GAZETTEER)
    place.delete()
    assert street_of("凉城路88号") == (None, StreetSource.NONE)
