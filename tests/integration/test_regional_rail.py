"""The regional rail network (networks/yrd_regional.yaml): its trains keep the published run times,
commuters from central Suzhou reach Shanghai both by rail and by metro, and both engines agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.api import run
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
# Suzhou Line 3's through trains serve Line 11 since 2023-12-23: Line 11's own all-stops trains are
# taken off, and the Huaqiao coordination rule feeds from the through trains (as the network says)
CHANGES = {"lines": {"SZ11": {"patterns": {"all_stops": None}}},
           "coordination": {"huaqiao_to_shanghai": {"feeders": ["SZ3.jinsheqiao_huaqiao.forward",
                                                                "SZ3.jinsheqiao_huaqiao_early.forward",
                                                                "SZ11.express.forward"]}}}


def scenario(tmp_path: Path, total: int, mode: str = "dynamic", disruptions: list | None = None):
    scn = {
        "schema_version": 1, "name": "regional_check", "network": str(ROOT / "networks" / "yrd_regional.yaml"),
        "seed": 7, "period": {"start": "06:30", "end": "08:30"}, "operations": {"mode": mode},
        "simulation": {"end": "12:00"},
        "demand": {"total": total, "profiles": {"flat": {"points": [["06:30", 1.0], ["08:30", 1.0]]}},
                   "segments": [{"name": "central_suzhou", "share": 1.0, "profile": "flat",
                                 "payment": {"sh_app_qr": 0.5, "transport_card": 0.5},
                                 "generator": {"origins": {"stations": ["sz_dongfangzhimen", "sz_jinsheqiao",
                                                                        "cr_suzhou", "cr_suzhou_industrial_park"]},
                                               "destinations": {"stations": ["sh_xujiahui", "sh_jiangsu_road",
                                                                             "sh_shanghai_west_railway_station"]}}}]},
        "changes": CHANGES,
    }
    if disruptions:
        scn["disruptions"] = disruptions
    (tmp_path / "scn.yaml").write_text(yaml.safe_dump(scn, allow_unicode=True), encoding="utf-8")
    return load_scenario(tmp_path / "scn.yaml")


def test_central_suzhou_reaches_shanghai_by_rail_and_by_metro_in_both_engines(tmp_path):
    scn = scenario(tmp_path, 300)
    bulk, ref = run(scn, engine="bulk"), run(scn, engine="reference")
    assert bulk.trips.equals(ref.trips) and bulk.legs.equals(ref.legs)
    trips = bulk.trips
    assert (trips["status"] == "arrived").mean() > 0.95
    routes = trips["route"].astype(str)
    assert routes.str.contains("HN", regex=False).sum() > 20          # the intercity railway
    assert routes.str.contains("SZ3+SZ11", regex=False).sum() > 20    # Line 3 through onto Line 11, no change at Weiting


def test_both_engines_give_identical_tables_on_the_regional_baseline_scenario():
    # the shipped scenario itself (every segment, dynamic operations, its network changes) at small demand
    scn = load_scenario(ROOT / "scenarios" / "regional_baseline.yaml").with_overrides({"demand.total": 3000})
    bulk, ref = run(scn, engine="bulk"), run(scn, engine="reference")
    for table in ("trips", "legs", "trains", "facilities", "fares"):
        pd.testing.assert_frame_equal(getattr(bulk, table), getattr(ref, table), check_exact=True, obj=table)
    # the comparison covers riders of the railway, changing between rail and metro
    trips = bulk.trips
    assert len(trips) == 3000
    assert trips["modes"].astype(str).str.contains("rail", regex=False).sum() > 0
    assert trips["transfer_stations"].astype(str).str.contains("cr_", regex=False).sum() > 0


@pytest.mark.parametrize("a, b, minutes", [
    ("cr_suzhou", "cr_shanghai", 25.0),          # nonstop, fastest of the 2018 timetable (median 26)
    ("cr_kunshan_south", "cr_shanghai", 19.0),   # nonstop median
    ("cr_suzhou", "cr_kunshan_south", 12.0),
    ("cr_suzhou_north", "cr_shanghai_hongqiao", 23.0),
])
def test_rail_run_times_keep_the_published_ones_within_5_percent(tmp_path, a, b, minutes):
    res = run(scenario(tmp_path, 20, mode="timetable"))
    tr = res.trains[res.trains["stops"]]
    t = tr.pivot_table(index="train_id", columns="station", values="t_arrive", observed=True)
    d = tr.pivot_table(index="train_id", columns="station", values="t_depart", observed=True)
    both = t.columns.intersection([a, b])
    assert len(both) == 2
    ride = (t[b] - d[a]).dropna()
    ride = ride[ride > 0] / 60.0
    fastest = float(ride.min())
    assert abs(fastest - minutes) <= 0.05 * minutes, (a, b, fastest)


def test_mode_shares_of_everyone_and_by_segment(tmp_path):
    from sim.metrics import TripColumns, mode_shares

    res = run(scenario(tmp_path, 300))
    modes = res.trips["modes"].astype(str)
    routes = res.trips["route"].astype(str)
    # a rider on the intercity railway rode rail, and metro on to the destination unless they walk there from
    # the railway station (Shanghai West); one on Line 3 metro only
    rail = routes.str.contains("HN", regex=False)
    assert set(modes[rail]) == {"rail", "metro+rail"}
    assert ((modes[rail] == "rail") == (routes[rail] == "HN")).all()
    assert (modes[~routes.str.contains("HN|JH")] == "metro").all()
    shares = res.summary["mode_shares"]
    assert set(shares) == {"metro", "metro+rail", "rail"} and sum(shares.values()) == pytest.approx(1.0)
    assert res.scenario.model.period.warm_up_until is None  # the summary is of every commuter
    assert shares == mode_shares(TripColumns(res.trips), np.ones(len(res.trips), dtype=bool))
    assert res.summary["segments"]["central_suzhou"]["mode_shares"] == shares


def test_closing_line_11_at_huaqiao_moves_the_same_commuters_to_rail(tmp_path):
    # the closure of scenarios/regional_sh11_disruption.yaml (Huaqiao - Anting, with its bus bridge)
    shipped = yaml.safe_load((ROOT / "scenarios" / "regional_sh11_disruption.yaml").read_text(encoding="utf-8"))
    (tmp_path / "base").mkdir()
    (tmp_path / "closed").mkdir()
    base = run(scenario(tmp_path / "base", 400)).trips.set_index("commuter_id")
    closed = run(scenario(tmp_path / "closed", 400, disruptions=shipped["disruptions"])).trips.set_index("commuter_id")
    assert base["origin"].equals(closed["origin"]) and base["t_depart"].equals(closed["t_depart"])  # the same commuters
    start, end = (shipped["disruptions"][0][k] for k in ("start", "end"))
    during = (base["t_depart"] >= clock(start)) & (base["t_depart"] < clock(end))
    on_rail = {k: t["modes"].astype(str).str.contains("rail") for k, t in (("base", base), ("closed", closed))}
    routes = {k: t["route"].astype(str) for k, t in (("base", base), ("closed", closed))}
    # more of the same commuters ride the railway, those starting while Line 11 is closed above all
    assert on_rail["closed"].sum() > on_rail["base"].sum()
    metro = base["origin"].astype(str).str.startswith("sz_")   # from Line 3, where Line 11 is an option
    assert on_rail["closed"][during & metro].mean() > on_rail["base"][during & metro].mean() + 0.1
    moved = during & ~on_rail["base"] & on_rail["closed"]
    assert moved.sum() >= 10
    assert routes["base"][moved].str.contains("SH11").all() and routes["closed"][moved].str.contains("HN").all()


def clock(text: str) -> float:
    h, m = text.split(":")
    return 3600.0 * int(h) + 60.0 * int(m)
