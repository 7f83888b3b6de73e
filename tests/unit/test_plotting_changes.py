"""sim.plotting on hand-built tables (no simulation): the difference views of a comparison (each
commuter's change, percentile changes, part changes), whiskers and changes of the other comparison
charts, the load profile of a limited-stop route, readable service names in the Marey diagram, the
network map's lines and hemispheres, and the queue chart's legend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from sim import plotting
from sim.plotting import compare
from sim.plotting.common import _PALETTE
from sim.plotting.maps import degrees
from sim.plotting.run import served_stations

H = 3600.0
PARTS = ["access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s", "travel_time_s"]


def _gids(ax, prefix: str) -> list:
    return [a for a in [*ax.lines, *ax.patches, *ax.collections, *ax.texts] if str(a.get_gid()).startswith(prefix)]


# ---------------------------------------------------------------------------------------------------
# Difference views


def test_travel_time_changes_sorts_each_commuters_change() -> None:
    changes = np.array([-120.0] * 10 + [0.0] * 80 + [360.0] * 10)   # s: 10 % faster by 2 min, 10 % slower by 6
    fig = compare.travel_time_changes({"all commuters": {"B": changes}, "cross_border": {"B": changes[:50]}}, "A")
    ax = fig.axes[0]
    [curve] = _gids(ax, "change:B")
    x, y = curve.get_data()
    assert x[0] == 0.0 and x[-1] == 100.0 and list(y) == sorted(y)
    assert y[0] == pytest.approx(-2.0) and y[-1] == pytest.approx(6.0) and y[500] == 0.0   # minutes
    [stats] = _gids(ax, "stats:B")
    assert stats.get_text() == "100 commuters, mean +0.40 min; 10% faster, 10% slower"
    assert to_hex(curve.get_color()) == _PALETTE[1]   # the reference keeps the first colour
    low, high = ax.get_ylim()
    assert low < -2.0 and high > 6.0 and "slower than A" in ax.get_ylabel()
    assert "against A" in fig.get_suptitle()


def test_percentile_changes_with_and_without_intervals() -> None:
    table = pd.DataFrame({"panel": ["all"] * 4, "run": ["B", "B", "C", "C"], "percentile": [50, 95, 50, 95],
                          "change_s": [60.0, 120.0, -30.0, 0.0], "half_s": [30.0, np.nan, np.nan, np.nan]})
    fig = compare.percentile_changes(table, "A")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["p50", "p95"]
    [b] = [ln for ln in ax.lines if ln.get_gid() == "pct_change:B" and ln.get_marker() == "o"]
    assert list(b.get_ydata()) == [1.0, 2.0]   # minutes
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "B" in legend and "C" in legend and any("95 % confidence interval" in t for t in legend)


def test_time_part_changes_diverge_from_zero_with_whiskers() -> None:
    row = dict(zip(PARTS, [0.0, -30.0, 0.0, 60.0, 0.0, 30.0]))
    half = {f"{c}_half": 6.0 for c in PARTS}
    fig = compare.time_part_changes({"all commuters": pd.DataFrame([{**row, **half}], index=["B"])}, "A")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["access", "wait", "in vehicle", "transfer", "egress",
                                                             "door to door"]
    bars = [p for p in ax.patches if p.get_gid() == "part_change:B"]
    assert [round(b.get_width(), 3) for b in bars] == [0.0, -0.5, 0.0, 1.0, 0.0, 0.5]
    texts = [t.get_text().strip() for t in ax.texts if t.get_gid() == "value"]
    assert texts == ["0", "-0.50", "0", "+1.00", "0", "+0.50"]
    assert ax.get_xlim()[0] < -1.0 < 1.0 < ax.get_xlim()[1]
    assert any("95 % confidence interval" in t.get_text() for t in fig.legends[0].get_texts())


def test_transfer_whiskers_and_counts_above_them() -> None:
    table = pd.DataFrame({"interchange": ["X"] * 2, "medium": ["qr"] * 2, "run": ["A", "B"],
                          "transfer_mean_s": [240.0, 300.0], "onward_wait_mean_s": [120.0, 120.0],
                          "transfers": [100, 100], "transfer_half_s": [6.0, 12.0], "total_half_s": [12.0, 24.0]})
    fig = compare.transfer_times(table)
    ax = fig.axes[0]
    assert _gids(ax, "ci_transfer:A") and _gids(ax, "ci_total:B")
    counts = sorted(t.get_position()[1] for t in ax.texts if t.get_gid() == "count")
    assert counts[0] > 6.0 + 0.2   # above A's bar (6 min) and its whisker (0.2 min)
    assert any("95 % confidence interval" in t.get_text() for t in fig.legends[0].get_texts())


def test_fares_show_the_change_against_the_first_run() -> None:
    fares = pd.Series([5.0, 4.0], index=["A", "B"])
    revenue = pd.DataFrame([[1000.0, 200.0], [1000.0, 100.0]], index=["A", "B"], columns=["OP1", "OP2"])
    fig = compare.fares_revenue(fares, revenue)
    change = fig.axes[2]
    bars = [p for p in change.patches if p.get_gid() == "change:B"]
    assert [round(b.get_height(), 6) for b in bars] == [-20.0, 0.0, -50.0]   # %
    assert [t.get_text() for t in change.texts] == ["-1.00", "+0.00", "-0.10"]   # CNY, thousand CNY
    assert "against A" in change.get_title()
    assert len(compare.fares_revenue(fares[:1], revenue[:1]).axes) == 2   # one run: nothing to change against


def test_load_profiles_stay_readable_on_long_lines() -> None:
    stations = [f"s{k}" for k in range(40)]
    profile = pd.DataFrame({"up": np.arange(40.0), "down": np.arange(40.0)}, index=stations)
    fig = compare.load_profiles({"A": profile, "B": profile}, {s: f"Station {s}" for s in stations}, ("s39", "s0"), "L")
    assert fig.get_size_inches()[0] * plotting.DPI <= 1400


# ---------------------------------------------------------------------------------------------------
# Run charts


def _calls(train: str, service: str, direction: str, calls: list[tuple[str, float, bool]]) -> list[dict]:
    return [{"train_id": train, "line": "E", "track": "E", "service": service, "direction": direction, "station": s,
             "seq": k, "t_arrive": t, "t_depart": t + (30 if stops else 0), "boarded": 0, "alighted": 0,
             "load_after": 10 * (k + 1), "capacity": 100, "stops": stops} for k, (s, t, stops) in enumerate(calls)]


@pytest.fixture(scope="module")
def limited() -> pd.DataFrame:
    """A limited-stop line A-B-C-D: forward trains skip B, backward trains skip C (passes recorded)."""
    rows = []
    for k in range(3):
        t0 = 7 * H + 600 * k
        rows += _calls(f"f{k}", "E.x.forward", "up", [("A", t0, True), ("B", t0 + 100, False), ("C", t0 + 200, True),
                                                      ("D", t0 + 300, True)])
        rows += _calls(f"b{k}", "E.x.backward", "down", [("D", t0, True), ("C", t0 + 100, False),
                                                         ("B", t0 + 200, True), ("A", t0 + 300, True)])
    return pd.DataFrame(rows)


def test_a_limited_route_lists_the_same_stations_in_both_directions(limited: pd.DataFrame) -> None:
    names = {s: f"Station {s}" for s in "ABCD"}
    assert served_stations(limited, "E", list("ABCD"), 7 * H, 8 * H) == list("ABCD")
    up, down = plotting.line_load_profile(limited, "E", list("ABCD"), names, 7 * H, 8 * H).axes
    assert [t.get_text() for t in up.get_xticklabels()] == [names[s] for s in "ABCD"]
    assert [t.get_text() for t in down.get_xticklabels()] == [names[s] for s in "DCBA"]
    # towards D: A (stop), B (passed: the train runs B -> C there), C; none leaves D
    assert [round(b.get_x() + b.get_width() / 2) for b in _gids(up, "mean_load")] == [0, 1, 2]
    assert up.get_title() == "towards Station D: 3 trains, 9 departures"
    assert any(t.get_text() == "no train leaves" for t in up.texts)


def test_marey_names_services_and_merges_those_of_one_name(limited: pd.DataFrame) -> None:
    km = {"A": 0.0, "B": 1.0, "C": 2.0, "D": 3.0}
    names = {"E.x.forward": "A \u2192 D, not stopping at B", "E.x.backward": "A \u2192 D, not stopping at B"}
    fig = plotting.marey_diagram(limited, "E", km, {s: s for s in km}, 7 * H, 8 * H, service_names=names)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["A \u2192 D, not stopping at B"]
    colors = {to_hex(c.get_colors()[0]) for c in fig.axes[0].collections}
    assert len(colors) == 1   # one name, one colour


def test_network_map_names_lines_and_reads_hemispheres() -> None:
    assert degrees(121.4, "E", "W") == "121.40\u00b0E" and degrees(-3.5, "E", "W") == "3.50\u00b0W"
    assert degrees(-33.9, "N", "S") == "33.90\u00b0S"
    stations = pd.DataFrame({"station": ["a", "b", "c"], "lat": [51.5, 51.5, 51.6], "lon": [-0.2, 0.1, 0.1]})
    sections = pd.DataFrame({"line": ["L1", "L2"], "from_station": ["a", "b"], "to_station": ["b", "c"],
                             "load_factor": [0.5, 0.2]})
    fig = plotting.network_map(stations, sections, {}, ["a"], 7 * H, 8 * H,
                               lines={"L1": ("Line One", "#ff0000"), "L2": ("Line Two", "#0000ff")}, shown=["L1"])
    ax = fig.axes[0]
    assert {t.get_text() for t in ax.texts if str(t.get_gid()).startswith("tag:")} == {"L1", "L2"}
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert any(t.endswith("W") for t in ticks) and any(t.endswith("E") for t in ticks)
    assert all(t.get_text().endswith("N") for t in ax.get_yticklabels() if t.get_text())
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["L1: Line One", "L2: Line Two (not chosen: no loads)"]
    assert len(ax.collections[-2].get_segments()) == 1   # loads only on the line chosen
    same = plotting.network_map(stations, sections, {}, [], 7 * H, 8 * H,
                                lines={"L1": ("Line One", "#888888"), "L2": ("Line Two", "#888888")})
    tags = {t.get_text(): to_hex(t.get_bbox_patch().get_facecolor()) for t in same.axes[0].texts
            if str(t.get_gid()).startswith("tag:")}
    assert tags["L1"] == "#888888" and tags["L2"] != "#888888"   # a repeated colour: one of the palette


def test_network_map_legend_of_long_line_names_stays_on_the_canvas() -> None:
    names = {f"L{k}": (f"Metro Line {k} (Hongqiao Railway Station - Jiangsu Road, the long way round)", None)
             for k in range(13)}
    stations = pd.DataFrame({"station": [f"s{k}" for k in range(14)], "lat": [31.2] * 14,
                             "lon": [121.0 + 0.01 * k for k in range(14)]})
    sections = pd.DataFrame({"line": list(names), "from_station": [f"s{k}" for k in range(13)],
                             "to_station": [f"s{k + 1}" for k in range(13)], "load_factor": [0.5] * 13})
    fig = plotting.network_map(stations, sections, {}, [], 7 * H, 8 * H, lines=names)
    fig.canvas.draw()
    box, canvas = fig.legends[0].get_window_extent(), fig.bbox
    assert box.x0 >= canvas.x0 and box.x1 <= canvas.x1 and box.y0 >= canvas.y0
    short = plotting.network_map(stations, sections, {}, [], 7 * H, 8 * H,
                                 lines={ln: (f"Line {ln}", None) for ln in names})
    assert short.legends[0]._ncols == 3   # short names keep three columns


def test_queue_legend_is_under_the_chart(tmp_path: Path) -> None:
    fac = pd.DataFrame({"facility_id": ["s.g"] * 3, "t_join": [7 * H, 7 * H + 1, 7 * H + 2],
                        "t_start": [7 * H + 5, 7 * H + 6, 7 * H + 7]})
    fig = plotting.queue_lengths(fac, {"s.g": "Station (OP) \u00b7 gates"}, 7 * H, 8 * H)
    assert fig.axes[0].get_legend() is None and fig.legends
    plotting.save(fig, tmp_path / "q.png")
