"""sim.plotting.compare on small hand-built statistics tables (no simulation): structure, order, colours, save.

The layering check (no pyplot, no sim.* imports in sim/plotting) is in test_plotting.py and covers compare.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from sim.plotting import compare, save
from sim.plotting.common import _PALETTE

RUNS = ["baseline", "no integration", "full integration"]
PART_COLS = ["access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s"]


def _by_gid(ax, gid: str) -> list:
    return [a for a in [*ax.lines, *ax.patches] if a.get_gid() == gid]


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _legend_texts(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


# ---------------------------------------------------------------------------------------------------
# Hand-built inputs


def _cdf_panels() -> dict[str, dict[str, np.ndarray]]:
    return {"all commuters": {"A": np.array([600.0, 1200.0, 1800.0, 2400.0, np.nan]),   # NaN left out
                              "B": np.array([900.0, 1500.0, 2100.0, 5400.0])},
            "cross_border": {"A": np.array([1800.0, 3000.0]), "B": np.array([])}}


def _parts() -> dict[str, pd.DataFrame]:
    rows = [[300, 240, 1200, 120, 306], [300, 360, 1300, np.nan, 300], [240, 120, 1000, 60, 240]]
    return {"all commuters": pd.DataFrame(rows, index=RUNS, columns=PART_COLS),
            "cross_border": pd.DataFrame(np.array(rows[:2]) * 2, index=RUNS[:2], columns=PART_COLS)}


def _transfers() -> pd.DataFrame:
    rows = []
    for ic in ("Huaqiao", "Anting"):
        for med in ("Shanghai card", "QR code"):
            for k, run in enumerate(RUNS[:2]):
                if (ic, med, run) == ("Anting", "QR code", "baseline"):
                    continue   # no such transfers in that run
                rows.append({"interchange": ic, "medium": med, "run": run, "transfer_mean_s": 240.0 + 60 * k,
                             "onward_wait_mean_s": 120.0, "transfers": 1000 * (k + 1)})
    return pd.DataFrame(rows)


def _fares() -> tuple[pd.Series, pd.DataFrame]:
    fare = pd.Series([7.5, 9.25, 6.0], index=RUNS)
    revenue = pd.DataFrame([[500_000, 90_000], [480_000, 120_000], [560_000, 60_000]], index=RUNS,
                           columns=["Shanghai Metro", "Kunshan Public Transport"])
    return fare, revenue


STATIONS = ["s1", "s2", "s3", "s4"]
NAMES = {"s1": "Disney Resort", "s2": "Century Avenue", "s3": "Hongqiao Railway Station",
         "s4": "Kunshan Huaqiao Economic Development Zone"}


def _profiles() -> dict[str, pd.DataFrame]:
    return {run: pd.DataFrame({"up": [100.0 + k, 200.0, 150.0, np.nan], "down": [np.nan, 120.0, 180.0, 90.0 + k]},
                              index=STATIONS) for k, run in enumerate(RUNS[:2])}


def _waits() -> pd.DataFrame:
    return pd.DataFrame({"baseline": [30.0, 120.0, 10.0], "full integration": [45.0, 20.0, np.nan]},
                        index=["Anting · entry gates", "Huaqiao (Shanghai) · transfer security",
                               "Kunshan South · ticket office"])


# ---------------------------------------------------------------------------------------------------
# travel_time_cdfs


def test_travel_time_cdfs() -> None:
    fig = compare.travel_time_cdfs(_cdf_panels())
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ax_all, ax_cb = fig.axes
    assert ax_all.get_title() == "all commuters" and ax_cb.get_title() == "cross_border"
    x, y = _by_gid(ax_all, "cdf:A")[0].get_data()
    assert list(x) == [10.0, 10.0, 20.0, 30.0, 40.0] and y[0] == 0.0 and y[-1] == pytest.approx(100.0)   # minutes
    px, py = _by_gid(ax_all, "pct:B")[0].get_data()
    assert list(py) == [50, 85, 95]
    assert px == pytest.approx(np.percentile([15.0, 25.0, 35.0, 90.0], [50, 85, 95]))
    assert len([ln for ln in ax_all.lines if str(ln.get_gid()).startswith("cdf:")]) == 2
    assert len([ln for ln in ax_cb.lines if str(ln.get_gid()).startswith("cdf:")]) == 1   # B is empty there
    texts = _legend_texts(ax_all.get_legend())
    assert "A: 4 commuters, mean 25.0 min" in texts and "B: 4 commuters, mean 41.2 min" in texts
    assert any("p50, p85, p95" in t for t in texts)
    assert "B: no commuters" in _legend_texts(ax_cb.get_legend())
    # shared x range: 0 to the largest p99.5 (B, all commuters: ~89.2 min) rounded up to 10 min
    assert ax_all.get_xlim() == ax_cb.get_xlim() == (0.0, 90.0)
    assert ax_all.get_ylabel() == "share of commuters (%)" and "(min)" in ax_all.get_xlabel()
    # the same run has the same colour in every panel
    assert _by_gid(ax_all, "cdf:A")[0].get_color() == _by_gid(ax_cb, "cdf:A")[0].get_color() == _PALETTE[0]


def test_travel_time_cdfs_three_panels_wrap_and_empty() -> None:
    panels = {**_cdf_panels(), "nobody": {"A": np.array([]), "B": np.array([np.nan])}}
    fig = compare.travel_time_cdfs(panels)
    assert len(fig.axes) == 3
    geometry = [(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start) for ax in fig.axes]
    assert geometry == [(0, 0), (0, 1), (1, 0)]   # two columns from three panels on
    assert "no commuters" in _texts(fig.axes[2]) and not fig.axes[2].lines
    fig = compare.travel_time_cdfs({"all commuters": {"A": np.array([])}})
    assert len(fig.axes) == 1 and "no commuters" in _texts(fig.axes[0])


# ---------------------------------------------------------------------------------------------------
# time_parts


def test_time_parts() -> None:
    fig = compare.time_parts(_parts())
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ax, ax_cb = fig.axes
    assert ax.get_title() == "all commuters"
    assert [t.get_text() for t in ax.get_yticklabels()] == RUNS
    assert len([p for p in ax.patches if str(p.get_gid()).startswith("part:")]) == 5 * 3
    assert len([p for p in ax_cb.patches if str(p.get_gid()).startswith("part:")]) == 5 * 2
    assert [p.get_width() for p in _by_gid(ax, "part:in vehicle")] == pytest.approx([20.0, 1300 / 60, 1000 / 60])
    assert _by_gid(ax, "part:transfer")[1].get_width() == 0.0   # NaN drawn as 0
    assert [t.strip() for t in _texts(ax)] == ["36.1 min", "37.7 min", "27.7 min"]
    assert ax.get_xlim() == ax_cb.get_xlim()   # one x scale
    assert "(min)" in ax.get_xlabel()
    assert _legend_texts(fig.legends[0]) == ["access", "wait", "in vehicle", "transfer", "egress"]
    first = _by_gid(ax, "part:wait")[0]
    assert first.get_y() < _by_gid(ax, "part:wait")[1].get_y() and ax.yaxis_inverted()   # first run on top


def test_time_parts_missing_column() -> None:
    with pytest.raises(ValueError, match="egress_s"):
        compare.time_parts({"all": _parts()["all commuters"].drop(columns="egress_s")})


# ---------------------------------------------------------------------------------------------------
# transfer_times


def test_transfer_times() -> None:
    fig = compare.transfer_times(_transfers())
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    huaqiao, anting = fig.axes
    assert huaqiao.get_title() == "Huaqiao" and anting.get_title() == "Anting"
    assert [t.get_text() for t in huaqiao.get_xticklabels()] == ["Shanghai card", "QR code"]
    assert len(_by_gid(huaqiao, "transfer:baseline")) == 2 and len(_by_gid(huaqiao, "wait:no integration")) == 2
    assert len(_by_gid(anting, "transfer:baseline")) == 1   # the missing combination draws no bar
    walk = _by_gid(huaqiao, "transfer:no integration")[0]
    wait = _by_gid(huaqiao, "wait:no integration")[0]
    assert walk.get_height() == pytest.approx(5.0) and wait.get_height() == pytest.approx(2.0)   # minutes
    assert wait.get_y() == pytest.approx(5.0) and wait.get_hatch() and not walk.get_hatch()   # stacked, hatched
    assert to_hex(walk.get_facecolor()) == _PALETTE[1] and to_hex(wait.get_facecolor()) != _PALETTE[1]
    assert sorted(_texts(huaqiao)) == ["1,000", "1,000", "2,000", "2,000"]
    assert sorted(_texts(anting)) == ["0", "1,000", "2,000", "2,000"]   # "0" for the missing combination
    legend = _legend_texts(fig.legends[0])
    assert all(run in legend for run in RUNS[:2]) and any("onward wait" in t for t in legend)
    assert "(min)" in huaqiao.get_ylabel()


# ---------------------------------------------------------------------------------------------------
# fares_revenue


def test_fares_revenue() -> None:
    fare, revenue = _fares()
    fig = compare.fares_revenue(fare, revenue)
    assert isinstance(fig, Figure) and len(fig.axes) == 3   # and the change against the first run
    ax_f, ax_r, _ = fig.axes
    bars = _by_gid(ax_f, "fare")
    assert [b.get_height() for b in bars] == [7.5, 9.25, 6.0]
    assert ["7.50", "9.25", "6.00"] == _texts(ax_f)
    assert [t.get_text() for t in ax_f.get_xticklabels()] == RUNS
    assert "CNY" in ax_f.get_ylabel() and "thousand CNY" in ax_r.get_ylabel()
    assert [t.get_text() for t in ax_r.get_xticklabels()] == ["Shanghai Metro", "Kunshan Public Transport"]
    assert [b.get_height() for b in _by_gid(ax_r, "revenue:no integration")] == pytest.approx([480.0, 120.0])
    assert len([p for p in ax_r.patches if str(p.get_gid()).startswith("revenue:")]) == 6
    for k, run in enumerate(RUNS):   # one colour per run on both panels
        assert to_hex(bars[k].get_facecolor()) == to_hex(_by_gid(ax_r, f"revenue:{run}")[0].get_facecolor())
        assert to_hex(bars[k].get_facecolor()) == _PALETTE[k]
    assert _legend_texts(fig.legends[0]) == RUNS


# ---------------------------------------------------------------------------------------------------
# load_profiles


def test_load_profiles() -> None:
    fig = compare.load_profiles(_profiles(), NAMES, ("Huaqiao", "Disney Resort"), "Line 2: mean departing load")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    top, bottom = fig.axes
    assert top.get_title() == "towards Huaqiao" and bottom.get_title() == "towards Disney Resort"
    assert fig.get_suptitle() == "Line 2: mean departing load"
    assert len(top.lines) == 2 and len(bottom.lines) == 2
    names = [NAMES[s] for s in STATIONS]
    assert [t.get_text() for t in top.get_xticklabels()] == names   # full names, none thinned
    assert [t.get_text() for t in bottom.get_xticklabels()] == names[::-1]
    assert all(t.get_rotation() == 55 and t.get_fontsize() == 8 for t in top.get_xticklabels())
    up = _by_gid(top, "load:no integration")[0].get_ydata()
    assert list(up[:3]) == [101.0, 200.0, 150.0] and np.isnan(up[3])
    down = _by_gid(bottom, "load:baseline")[0].get_ydata()
    assert list(down[:3]) == [90.0, 180.0, 120.0] and np.isnan(down[3])   # reversed order
    assert top.get_ylabel() == "mean departing load (passengers)"
    assert _legend_texts(fig.legends[0]) == RUNS[:2]


# ---------------------------------------------------------------------------------------------------
# facility_waits


def test_facility_waits() -> None:
    fig = compare.facility_waits(_waits(), title="Queues at the border stations")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title() == "Queues at the border stations"
    # longest wait (over the runs) first, on top
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Huaqiao (Shanghai) · transfer security", "Anting · entry gates", "Kunshan South · ticket office"]
    assert ax.yaxis_inverted()
    assert [b.get_width() for b in _by_gid(ax, "wait:baseline")] == [120.0, 30.0, 10.0]
    assert np.isnan(_by_gid(ax, "wait:full integration")[2].get_width())   # NaN: not used, no bar drawn
    assert [t for t in _texts(ax) if t] == ["120 s", "30 s", "10 s", "20 s", "45 s", " not used"]
    assert "(s)" in ax.get_xlabel() and _legend_texts(fig.legends[0]) == ["baseline", "full integration"]


def test_facility_waits_at_most_12_rows() -> None:
    waits = pd.DataFrame({"baseline": np.arange(13.0)}, index=[f"f{k}" for k in range(13)])
    with pytest.raises(ValueError, match="at most 12"):
        compare.facility_waits(waits)
    assert len(compare.facility_waits(waits.iloc[:12]).axes) == 1


# ---------------------------------------------------------------------------------------------------
# Every chart: a PNG


CHARTS: dict[str, Callable[[], Figure]] = {
    "cdfs": lambda: compare.travel_time_cdfs(_cdf_panels()),
    "parts": lambda: compare.time_parts(_parts()),
    "transfers": lambda: compare.transfer_times(_transfers()),
    "fares": lambda: compare.fares_revenue(*_fares()),
    "loads": lambda: compare.load_profiles(_profiles(), NAMES, ("Huaqiao", "Disney Resort"), "Line 2"),
    "waits": lambda: compare.facility_waits(_waits()),
}


@pytest.mark.parametrize("name", list(CHARTS))
def test_save_writes_png(tmp_path: Path, name: str) -> None:
    out = save(CHARTS[name](), tmp_path / "compare" / f"{name}.png")
    data = out.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


def test_mode_choice_stacks_the_modes_and_writes_who_moved() -> None:
    counts = pd.DataFrame({"rail": [700.0, 760.0], "car": [280.0, 225.0], "bus": [20.0, np.nan]},
                          index=["today", "through fare"])
    fig = compare.mode_choice({"all commuters between zones": counts, "empty group": counts.iloc[:0]})
    ax = fig.axes[0]
    rail, car = _by_gid(ax, "mode:rail"), _by_gid(ax, "mode:car")
    assert [p.get_width() for p in rail] == [700.0, 760.0] and [p.get_x() for p in car] == [700.0, 760.0]
    assert to_hex(rail[0].get_facecolor()) == compare.MODE_COLORS["rail"]
    assert "  rail +60, car -55, bus -20" in _texts(ax)
    assert any("no commuters" in t for t in _texts(fig.axes[1]))
