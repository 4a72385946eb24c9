import csv
import json
from datetime import datetime, timedelta

from yiwang.cli import main
from yiwang.insight import bursts
from yiwang.insight.appeals import Appeal

ROWS = [
    # a repeat: same estate, same problem, reworded by another caller two days later
    ("1", "U1", "2019-05-06 09:00:00", "A2区丽发新城小区附近搅拌站噪音扰民",
     "我是暮云街道丽发新城小区的业主，开发商在小区附近建了搅拌站，每天晚上轰隆隆的噪音和粉尘，根本无法睡觉。"),
    ("2", "U2", "2019-05-08 20:00:00", "丽发新城旁边的搅拌站粉尘噪音太大了",
     "暮云街道丽发新城小区附近的搅拌站每天晚上都在作业，噪音和粉尘严重，居民无法正常休息，请环保部门处理。"),
    # same estate, a different problem
    ("3", "U3", "2019-05-09 10:00:00", "A2区丽发新城小区幼儿园学位不足",
     "丽发新城小区入住的孩子越来越多，配套的公办幼儿园只有一所，学位严重不足，孩子报不上名，请教育局增加学位。"),
    # unrelated
    ("4", "U4", "2019-05-10 11:00:00", "A7县星沙大道路灯不亮",
     "A7县星沙大道东段的路灯已经一个多月不亮了，晚上出行很危险。"),
]


def write(path, rows, header=("id", "user", "time", "title", "detail")):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def run_cli(capsys, *argv):
    code = main(["insight", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_duplicates_finds_reworded_repeat_and_not_same_place_other_problem(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "duplicates", "--input", write(tmp_path / "a.csv", ROWS), "--json")
    assert code == 0
    pairs = {(p["a"], p["b"]) for p in json.loads(out)}
    assert ("1", "2") in pairs
    assert not pairs & {("1", "3"), ("2", "3"), ("1", "4"), ("3", "4")}
    assert all(isinstance(p["score"], float) for p in json.loads(out))


def test_clusters_contract(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "clusters", "--input", write(tmp_path / "a.csv", ROWS), "--json")
    assert code == 0
    found = json.loads(out)
    assert any(set(c["ids"]) >= {"1", "2"} for c in found)
    for c in found:
        assert set(c) == {"ids", "label", "heat"} and c["label"] and isinstance(c["heat"], float)
        assert "4" not in c["ids"]


def test_missing_optional_columns_are_fine_and_bad_input_exits_2(tmp_path, capsys):
    rows = [r[:1] + r[2:] for r in ROWS]
    code, out, _ = run_cli(capsys, "bursts", "--input",
                           write(tmp_path / "b.csv", rows, ("id", "time", "title", "detail")), "--json")
    assert code == 0 and json.loads(out) == []
    code, out, err = run_cli(capsys, "duplicates", "--input", str(tmp_path / "missing.csv"), "--json")
    assert code == 2 and err.startswith("error: ") and out == ""
    code, _, err = run_cli(capsys, "clusters", "--input", write(tmp_path / "c.csv", [("1", "x")], ("id", "title")))
    assert code == 2 and "detail" in err
    bad = [("1", "U", "not a time", "t", "d")]
    code, _, err = run_cli(capsys, "bursts", "--input", write(tmp_path / "d.csv", bad))
    assert code == 2 and "line 2" in err


def _series(days: int, spike_at: int | None) -> list[Appeal]:
    """Two appeals a day in each of three districts; optionally a spike at one estate."""
    start = datetime(2019, 3, 4, 9)
    out = []
    for d in range(days):
        for k, district in enumerate(("A1区", "A2区", "A3区")):
            for h in (0, 5):
                out.append(Appeal(id=f"{d}-{k}-{h}", time=start + timedelta(days=d, hours=h + k),
                                  title=f"{district}道路坑洼", detail=f"{district}有条路坑洼很多，请修补。",
                                  user=f"u{d}{k}{h}"))
    if spike_at is not None:
        t0 = start + timedelta(days=spike_at, hours=3)
        for m in range(5):
            out.append(Appeal(id=f"spike{m}", time=t0 + timedelta(minutes=40 * m),
                              title="A3区梅岭小区自来水发黄", detail=f"A3区梅岭小区今天自来水发黄有异味（第{m}栋）。",
                              user=f"s{m}"))
    return out


def test_burst_raised_for_injected_spike_not_for_flat_series():
    assert bursts.bursts(_series(40, None)) == []
    alerts = bursts.bursts(_series(40, 30))
    assert alerts, "the spike at 梅岭小区 must raise an alert"
    first = alerts[0]
    assert "梅岭小区" in first["reason"] and set(first["ids"]) <= {f"spike{m}" for m in range(5)}
    assert first["raised_at"] <= datetime(2019, 4, 3, 15).isoformat()  # within 3 h of the first spike appeal
