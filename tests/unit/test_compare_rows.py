"""The rows of the compare KPI table (sim.report.compare) on hand-written summaries (no simulation):
per named group its mode shares, travel time, fare and fare revenue per operator, with the modes one
run has and another has not counted as a share of 0."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sim.report.compare import RunSet, kpi_table, markdown


def _run(label: str, groups: dict, revenue: dict, modes: dict) -> RunSet:
    summary = {"commuters": 100, "travel_time_mean_s": 3600.0, "fare_mean_cny": 10.0, "fare_revenue_cny": revenue,
               "mode_shares": modes, "groups": groups, "currency": "CNY"}
    return RunSet(label, [SimpleNamespace(summary=summary, manifest={"seed": 7})])  # type: ignore[list-item]


def _group(tt_s: float, fare: float, modes: dict, revenue: dict) -> dict:
    return {"commuters": 10, "travel_time_mean_s": tt_s, "travel_time_p95_s": 2 * tt_s, "fare_mean_cny": fare,
            "transfer_mean_s": 300.0, "mode_shares": modes, "fare_revenue_cny": revenue}


@pytest.fixture
def rows() -> dict[str, list[str]]:
    base = _run("base", {"cross_border": _group(6000.0, 16.5, {"metro": 0.85, "metro+rail": 0.15},
                                                {"SHM": 1300.0, "SZM": 1100.0, "CR": 1235.5})},
                {"SHM": 9000.0, "SZM": 2000.0, "CR": 1300.0}, {"metro": 0.99, "metro+rail": 0.01})
    closed = _run("closed", {"cross_border": _group(6300.0, 17.75, {"bus+metro": 0.2, "metro": 0.6, "metro+rail": 0.2},
                                                    {"SHM": 1250.0, "SZM": 1000.0, "CR": 1635.5, "bus_bridge": 0.0})},
                  {"SHM": 8900.0, "SZM": 1900.0, "CR": 1700.0, "bus_bridge": 0.0},
                  {"bus+metro": 0.02, "metro": 0.97, "metro+rail": 0.01})
    return _rows([base, closed])


def _rows(sets: list[RunSet]) -> dict[str, list[str]]:
    """The compare Markdown table's rows by label: the runs' values and the differences."""
    md = markdown(kpi_table(sets), sets)
    return {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")[1:]]
            for line in md.splitlines()[2:]}


def test_each_group_has_its_fare_revenue_per_operator(rows) -> None:
    assert rows["cross_border: fare revenue CR (CNY)"] == ["1,236", "1,636", "+400"]
    assert rows["cross_border: fare revenue SHM (CNY)"] == ["1,300", "1,250", "-50.00"]
    assert rows["cross_border: fare revenue SZM (CNY)"] == ["1,100", "1,000", "-100"]
    # an operator that exists in one run only (the bus bridge) has no value and no change in the other
    assert rows["cross_border: fare revenue bus_bridge (CNY)"] == ["\u2013", "0.00", "\u2013"]


def test_each_group_has_its_mode_shares_travel_time_and_fare(rows) -> None:
    assert rows["cross_border: share riding metro"] == ["0.850", "0.600", "-0.250"]
    assert rows["cross_border: share riding metro+rail"] == ["0.150", "0.200", "+0.050"]
    assert rows["cross_border: travel time, mean (min)"] == ["100.00", "105.00", "+5.00"]
    assert rows["cross_border: travel time, p95 (min)"] == ["200.00", "210.00", "+10.00"]
    assert rows["cross_border: fare, mean (CNY)"] == ["16.50", "17.75", "+1.25"]


def test_a_mode_one_run_has_not_is_a_share_of_zero_there(rows) -> None:
    assert rows["cross_border: share riding bus+metro"] == ["0.000", "0.200", "+0.200"]
    assert rows["share riding bus+metro"] == ["0.000", "0.020", "+0.020"]
    assert rows["share riding metro"] == ["0.990", "0.970", "-0.020"]


def test_reserved_seat_figures_per_line() -> None:
    def run(label: str, wait_s: float, standing: float) -> RunSet:
        rs = _run(label, {}, {"CR": 100.0}, {"metro": 1.0})
        rs.reps[0].summary["reserved_seats"] = {"HN": {"rides": 300, "standing_share": standing, "missed_trains": 2,
                                                       "without_ticket": 0, "wait_mean_s": wait_s}}
        return rs

    rows = _rows([run("base", 1200.0, 0.02), run("pass", 1500.0, 0.05)])
    assert rows["reserved seats HN: wait on the platform (min)"] == ["20.00", "25.00", "+5.00"]
    assert rows["reserved seats HN: share on a standing ticket"][2] == "+0.030"
    assert rows["reserved seats HN: rides"][:2] == ["300", "300"]
