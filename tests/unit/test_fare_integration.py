"""Fare integration against fares computed by hand: through fares, transfer discounts and revenue
clearing on both sides of each distance threshold, and revenue that adds up to the fares paid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

import toynet as T
from sim import tables
from sim.api import run
from sim.errors import UserError
from sim.fares import FareSystem
from sim.scenario import load_network

OA_FARE, OB_FARE = T.OA_FARE, T.OB_FARE


def fare_system(tmp_path, rule: dict | None) -> tuple[FareSystem, dict]:
    net = T.boundary_network(fare_rule=rule, fares=(OA_FARE, OB_FARE))
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(net, sort_keys=False), encoding="utf-8")
    network, _ = load_network(tmp_path / "net.yaml")
    media = tuple(sorted(network.media))
    return FareSystem(network, media), {m: i for i, m in enumerate(media)}


def fares_of(fs: FareSystem, code: dict, legs: list[tuple[str, float]], medium: str = "qr") -> list[float]:
    """Fares attributed to the legs of one trip, each leg (operator id, km)."""
    op = np.asarray([[fs.net.operator_index[o] for o, _ in legs]])
    km = np.asarray([[k for _, k in legs]], dtype=float)
    return fs.section_fares(op, km, np.asarray([code[medium]])).ravel().tolist()


@pytest.mark.parametrize("a_km, b_km, separate", [
    (4.0, 1.9, [3.0, 2.0]),    # OB 1.9 km: base fare
    (4.0, 6.1, [3.0, 3.0]),    # OB just past 6 km: +1
    (6.1, 5.0, [4.0, 2.0]),    # OA just past 6 km: 4
    (16.1, 16.1, [5.0, 5.0]),  # OA past 16 km: +1 per 10 km; OB: 2 + 2 (6-16 km) + 1 (first km past 16)
])
def test_separate_fares_are_each_operators_own_tariff(tmp_path, a_km, b_km, separate):
    fs, code = fare_system(tmp_path, None)
    assert fares_of(fs, code, [("OA", a_km), ("OB", b_km)]) == separate


@pytest.mark.parametrize("a_km, b_km, through", [
    (4.0, 1.9, 3.0),     # 5.9 km by OA's tariff: 3 CNY
    (4.0, 2.1, 4.0),     # 6.1 km: 4 CNY
    (10.0, 5.9, 4.0),    # 15.9 km: 4 CNY
    (10.0, 6.1, 5.0),    # 16.1 km: 5 CNY
    (20.0, 16.0, 6.0),   # 36 km: 4 + 2
])
def test_through_fare_on_total_km_cleared_by_km(tmp_path, a_km, b_km, through):
    fs, code = fare_system(tmp_path, {"id": "r", "operators": ["OA", "OB"], "policy": "through",
                                      "through_tariff": "OA", "clearing": "km_share"})
    parts = fares_of(fs, code, [("OA", a_km), ("OB", b_km)])
    share_a = round(through * a_km / (a_km + b_km), 2)
    assert parts == [share_a, round(through - share_a, 2)]
    assert sum(parts) == pytest.approx(through, abs=1e-9)


def test_through_fare_cleared_by_stand_alone_fares(tmp_path):
    fs, code = fare_system(tmp_path, {"id": "r", "operators": ["OA", "OB"], "policy": "through",
                                      "through_tariff": "OA", "clearing": "standalone_share"})
    # 4 + 6.1 km: stand-alone 3 (OA) and 3 (OB); through fare on 10.1 km = 4, shared 2 / 2
    assert fares_of(fs, code, [("OA", 4.0), ("OB", 6.1)]) == [2.0, 2.0]
    # 4 + 1.9 km: stand-alone 3 and 2; through fare 3, shared 3 x 3/5 = 1.8 and 1.2
    assert fares_of(fs, code, [("OA", 4.0), ("OB", 1.9)]) == [1.8, 1.2]


@pytest.mark.parametrize("discount, legs, expected", [
    (1.0, [("OA", 4.0), ("OB", 1.9)], 4.0),                 # 3 + 2 - 1
    (3.0, [("OA", 4.0), ("OB", 1.9)], 3.0),                 # 3 + 2 - 3 = 2, not below the dearest section (3)
    (1.0, [("OA", 4.0), ("OB", 6.1)], 5.0),                 # 3 + 3 - 1
    (1.0, [("OA", 4.0), ("OB", 3.0), ("OA", 2.0)], 6.0),   # 3 + 2 + 3 - 2 changes x 1
])
def test_transfer_discount_per_change_of_operator(tmp_path, discount, legs, expected):
    fs, code = fare_system(tmp_path, {"id": "r", "operators": ["OA", "OB"], "policy": "discount",
                                      "discount_cny": discount, "clearing": "km_share"})
    parts = fares_of(fs, code, legs)
    assert sum(parts) == pytest.approx(expected, abs=1e-9)
    total_km = sum(k for _, k in legs)
    for (_, km), part in zip(legs[:-1], parts[:-1]):
        assert part == round(expected * km / total_km, 2)


def test_rule_applies_only_to_its_media_and_media_factors_follow_the_tariff(tmp_path):
    fs, code = fare_system(tmp_path, {"id": "r", "operators": ["OA", "OB"], "policy": "through",
                                      "through_tariff": "OB", "media": ["ticket"]})
    # qr: separate fares; ticket: through fare on 10.1 km by OB's tariff, with its 0.9 ticket factor
    assert fares_of(fs, code, [("OA", 4.0), ("OB", 6.1)], "qr") == [3.0, 3.0]
    through = round(3.0 * 0.9, 2)  # 2 CNY + 1 (6-11 km) = 3, times 0.9
    parts = fares_of(fs, code, [("OA", 4.0), ("OB", 6.1)], "ticket")
    assert sum(parts) == pytest.approx(through, abs=1e-9)


def test_two_legs_on_one_operator_are_one_section(tmp_path):
    fs, code = fare_system(tmp_path, {"id": "r", "operators": ["OA", "OB"], "policy": "through",
                                      "through_tariff": "OA"})
    # OA 3 + 4 km (one section of 7 km), then OB 1 km: through fare on 8 km = 4, by km 3.5 / 0.5
    assert fares_of(fs, code, [("OA", 3.0), ("OA", 4.0), ("OB", 1.0)]) == [3.5, 0.0, 0.5]


def test_revenue_adds_up_to_the_fares_paid_in_a_run(tmp_path):
    rule = {"id": "r", "operators": ["OA", "OB"], "policy": "through", "through_tariff": "OA",
            "clearing": "standalone_share"}
    net = T.boundary_network(fare_rule=rule, fares=(OA_FARE, OB_FARE))
    scn = T.scenario(500, ["A1", "A2"], ["B1", "B2", "A2"], start="06:00", end="08:00", sim_end="10:00",
                     payment={"qr": 0.5, "ticket": 0.5})
    res = run(T.write(tmp_path, net, scn))
    assert res.trips["fare_cny"].sum() == pytest.approx(res.legs["fare_cny"].sum(), abs=1e-6)
    revenue = res.summary["fare_revenue_cny"]
    assert revenue["OA"] + revenue["OB"] == pytest.approx(res.trips["fare_cny"].sum(), abs=1e-6)
    crossing = res.trips[res.trips["route"].astype(str) == "LA>LB"]
    assert len(crossing) and (crossing["fare_cny"] == 4.0).all()  # A1->B2: 5 + 5 km, 4 CNY by OA's tariff


def test_fare_sections_built_by_blocks_of_commuters_are_those_built_whole(tmp_path, monkeypatch):
    # blocks of 7 commuters split the run's 500 commuters (and their sections of two operators)
    # everywhere: the table is the same row for row
    rule = {"id": "r", "operators": ["OA", "OB"], "policy": "separate"}
    net = T.boundary_network(fare_rule=rule, fares=(OA_FARE, OB_FARE))
    scn = T.write(tmp_path, net, T.scenario(500, ["A1", "A2"], ["B1", "B2", "A2"], start="06:00", end="08:00",
                                            sim_end="10:00"))
    whole = run(scn).fares
    monkeypatch.setattr(tables, "_BLOCK", 7)
    blocks = run(scn).fares
    assert len(whole) > 500 and whole["operator"].nunique() == 2 and whole["commuter_id"].is_monotonic_increasing
    pd.testing.assert_frame_equal(blocks, whole, check_exact=True)


def test_fare_rule_errors_name_the_field(tmp_path):
    rule = {"id": "r", "operators": ["OA", "XX"], "policy": "through", "through_tariff": "YY"}
    net = T.boundary_network(fare_rule=rule)
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(net, sort_keys=False), encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_network(tmp_path / "net.yaml")
    assert {(p.path, p.message) for p in info.value.problems} == {
        ("fare_integration[0].operators[1]", "unknown operator 'XX' (known: OA, OB)"),
        ("fare_integration[0].through_tariff", "unknown operator 'YY' (known: OA, OB)")}


@pytest.mark.parametrize("medium", ["sh_app_qr", "sz_app_qr", "transport_card", "single_ticket"])
def test_removing_integration_never_lowers_a_cross_border_fare(medium):
    from pathlib import Path

    from sim.scenario import load_scenario

    root = Path(__file__).resolve().parents[2] / "scenarios"
    fares = {}
    for name in ("baseline", "huaqiao_no_integration"):
        network = load_scenario(root / f"{name}.yaml").network
        media = tuple(sorted(network.media))
        fs = FareSystem(network, media)
        code = {m: i for i, m in enumerate(media)}
        fares[name] = fares_of(fs, code, [("SZM", 30.0), ("SHM", 40.0)], medium)
    assert sum(fares["huaqiao_no_integration"]) >= sum(fares["baseline"]), fares
    if medium == "sh_app_qr":  # in Suzhou, a Shanghai-issued card pays the full fare (no local discount)
        assert fares["huaqiao_no_integration"][0] == fares["baseline"][0]


def test_the_payment_summary_counts_who_paid_with_the_fallback():
    import pandas as pd

    from sim.run_summary import payment_summary

    class Op:
        def __init__(self, oid, accepts, fallback):
            self.id, self.accepts, self.fallback_medium = oid, accepts, fallback

    class Net:
        operators = [Op("SHM", None, None), Op("SZM", ["sz_app_qr", "card_other"], "card_other")]

    trips = pd.DataFrame({"commuter_id": [0, 1, 2, 3], "payment": ["sh_app_qr", "sz_app_qr", "sh_app_qr", "sh_app_qr"],
                          "t_depart": [100.0, 100.0, 100.0, 10.0]})
    fares = pd.DataFrame({"commuter_id": [0, 0, 1, 2, 2, 3], "leg": [0, 1, 0, 0, 1, 0],
                          "operator": ["SHM", "SZM", "SZM", "SZM", "SZM", "SZM"],
                          "fare_cny": [7.0, 5.0, 4.0, 3.0, 2.0, 9.0]})
    out = payment_summary(Net(), trips, fares, kpi_from=50.0)
    assert list(out) == ["SZM"]  # SHM accepts everything
    assert out["SZM"] == {"accepts": ["card_other", "sz_app_qr"], "fallback_medium": "card_other",
                          "fallback_commuters": 2, "fallback_fare_mean_cny": 5.0}  # commuters 0 and 2; 3 before kpi_from
