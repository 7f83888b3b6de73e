"""sim.plotting on small hand-built tables (no simulation): figure structure, selection, save."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from sim import plotting

H = 3600.0


def _trains(rows: list[tuple]) -> pd.DataFrame:
    """Train calls from (train_id, service, direction, [(station, t_arrive, t_depart, load_after), ...])
    rows; line "Y", capacity 100 (categoricals, as the simulator writes them)."""
    out = []
    for train_id, service, direction, calls in rows:
        for seq, (station, ta, td, load) in enumerate(calls):
            out.append({"train_id": train_id, "line": "Y", "service": service, "direction": direction,
                        "station": station, "seq": seq, "t_arrive": ta, "t_depart": td, "boarded": 0,
                        "alighted": 0, "load_after": load, "capacity": 100})
    df = pd.DataFrame(out)
    for col in ("train_id", "line", "service", "direction", "station"):
        df[col] = df[col].astype("category")
    return df


def _calls(stations: list[str], t0: float, loads: list[int], run_s: float = 120.0, dwell_s: float = 30.0):
    calls, t = [], t0
    for k, (s, load) in enumerate(zip(stations, loads)):
        ta = t
        td = ta if k in (0, len(stations) - 1) else ta + dwell_s
        calls.append((s, ta, td, load))
        t = td + run_s
    return calls


# A Y-shaped line: trunk A-B-C-D, branch from B to E-F.
ORDER = ["A", "B", "C", "D", "E", "F"]
NAMES = {"A": "Alpha", "B": "Bravo", "C": "Charlie", "D": "Delta", "E": "Echo", "F": "Foxtrot"}
KM = {"A": 0.0, "B": 1.0, "C": 2.0, "D": 3.0, "E": 2.2, "F": 3.5}


@pytest.fixture(scope="module")
def ytrains() -> pd.DataFrame:
    return _trains([
        ("t1", "Y.trunk.fwd", "up", _calls(["A", "B", "C", "D"], 7 * H, [40, 80, 20, 0])),
        ("t2", "Y.trunk.fwd", "up", _calls(["A", "B", "C", "D"], 7 * H + 600, [60, 90, 30, 0])),
        ("b1", "Y.branch.fwd", "up", _calls(["A", "B", "E", "F"], 7 * H + 300, [10, 50, 25, 0])),
        ("d1", "Y.trunk.bwd", "down", _calls(["D", "C", "B", "A"], 7 * H + 100, [30, 45, 70, 0])),
        # departs outside [07:00, 08:00): not in the load profile nor in the Marey diagram
        ("late", "Y.trunk.fwd", "up", _calls(["A", "B", "C", "D"], 9 * H, [99, 99, 99, 0])),
    ])


def _by_gid(ax, gid: str) -> list:
    return [a for a in [*ax.lines, *ax.patches] if a.get_gid() == gid]


def test_clock_label() -> None:
    assert plotting.clock_label(7 * H + 5 * 60) == "07:05"
    assert plotting.clock_label(25 * H + 59.6 * 60) == "26:00"   # rounded; hours past 24 kept
    assert plotting.clock_label(float("nan")) == ""


def _trips(tt_min: list[float], status: list[str] | None = None) -> pd.DataFrame:
    status = status or ["arrived"] * len(tt_min)
    tt = np.array(tt_min, dtype=float) * 60.0
    tt[np.array(status) != "arrived"] = np.nan
    return pd.DataFrame({"commuter_id": np.arange(len(tt)), "status": pd.Categorical(status),
                         "travel_time_s": tt})


def test_travel_time_one_label() -> None:
    trips = _trips([10, 20, 30, 0], ["arrived", "arrived", "arrived", "in_system"])
    fig = plotting.travel_time_distribution({"run": trips})
    assert isinstance(fig, Figure)
    ax_h, ax_c = fig.axes
    cdf = _by_gid(ax_c, "cdf:run")
    assert len(cdf) == 1
    x, y = cdf[0].get_data()
    assert x.max() == pytest.approx(30.0) and y[-1] == pytest.approx(100.0)   # minutes; the in_system trip left out
    assert len(ax_h.patches) == 1 and _by_gid(ax_h, "mean:run")[0].get_xdata()[0] == pytest.approx(20.0)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("mean 20.0 min" in t and "1 not arrived" in t for t in texts)


def test_travel_time_several_labels_and_groups() -> None:
    a = _trips([10, 20, 30, 40])
    b = _trips([15, 25, 35, 45])
    cross = pd.Series([False, True, False, True])
    fig = plotting.travel_time_distribution({"A": a, "B": b}, {"cross": cross})
    _, ax_c = fig.axes
    cdfs = [ln for ln in ax_c.lines if str(ln.get_gid()).startswith("cdf:")]
    assert sorted(ln.get_gid() for ln in cdfs) == ["cdf:A", "cdf:A: cross", "cdf:B", "cdf:B: cross"]
    x, _ = _by_gid(ax_c, "cdf:B: cross")[0].get_data()
    assert sorted(set(x)) == [25.0, 45.0]
    texts = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "A: cross: n = 2, mean 30.0 min" in texts


def test_travel_time_bad_mask_and_empty() -> None:
    with pytest.raises(ValueError, match="mask"):
        plotting.travel_time_distribution({"r": _trips([1, 2])}, {"g": np.array([True])})
    fig = plotting.travel_time_distribution({"r": _trips([5.0], ["in_system"])})
    assert isinstance(fig, Figure) and len(fig.axes) == 2


def test_line_load_profile_along_one_route(ytrains: pd.DataFrame) -> None:
    fig = plotting.line_load_profile(ytrains, "Y", ["A", "B", "C", "D"], NAMES, 7 * H, 8 * H, title="Line Y trunk")
    assert isinstance(fig, Figure)
    up, down = fig.axes
    # towards Delta: sections of the trunk route only (the branch train's B -> E section is not on it);
    # both panels list every station served in the window (Delta: no train leaves it towards Delta)
    assert up.get_title().startswith("towards Delta")
    assert [t.get_text() for t in up.get_xticklabels()] == ["Alpha", "Bravo", "Charlie", "Delta"]
    bars = _by_gid(up, "mean_load")
    assert [b.get_height() for b in bars] == pytest.approx([(40 + 60 + 10) / 3, (80 + 90) / 2, 25.0])
    assert list(_by_gid(up, "max_load")[0].get_ydata()) == [60, 90, 30]   # the 09:00 train left out
    assert len(_by_gid(up, "capacity")) == 1
    assert _by_gid(up, "peak")[0].get_ydata()[0] == 90
    assert up.get_ylim()[1] >= 100   # loads >= 35 % of capacity: the capacity line is on the scale
    # towards Alpha: the same stations in travel order
    assert down.get_title().startswith("towards Alpha")
    assert [t.get_text() for t in down.get_xticklabels()] == ["Delta", "Charlie", "Bravo", "Alpha"]
    assert fig.get_suptitle().startswith("Line Y trunk: departing load by section, 07:00")
    # along the branch route the junction's bar counts only the trains running onto the branch
    branch_up, _ = plotting.line_load_profile(ytrains, "Y", ["A", "B", "E", "F"], NAMES, 7 * H, 8 * H).axes
    assert [b.get_height() for b in _by_gid(branch_up, "mean_load")] == pytest.approx([(40 + 60 + 10) / 3, 50, 25])


def test_line_load_profile_shows_the_places_sold_to_the_modelled_riders(ytrains: pd.DataFrame) -> None:
    fig = plotting.line_load_profile(ytrains, "Y", ["A", "B", "C", "D"], NAMES, 7 * H, 8 * H, for_riders=75.0)
    for ax in fig.axes[:2]:
        sold = _by_gid(ax, "for_riders")
        assert len(sold) == 1 and list(sold[0].get_ydata()) == [75.0, 75.0]
    assert "places sold to the modelled riders" in [t.get_text() for t in fig.legends[0].get_texts()]
    plain = plotting.line_load_profile(ytrains, "Y", ["A", "B", "C", "D"], NAMES, 7 * H, 8 * H)
    assert not any(_by_gid(ax, "for_riders") for ax in plain.axes)


def test_a_bus_line_is_drawn_with_buses(ytrains: pd.DataFrame) -> None:
    up, _ = plotting.line_load_profile(ytrains, "Y", ["A", "B", "C", "D"], NAMES, 7 * H, 8 * H, vehicle="bus").axes
    assert " buses, " in up.get_title() and "bus's capacity" in " ".join(t.get_text() for t in up.texts)
    marey = plotting.marey_diagram(ytrains, "Y", {"A": 0.0, "B": 2.0, "C": 4.0, "D": 6.0}, NAMES, 7 * H, 8 * H,
                                   vehicle="bus")
    assert marey.axes[0].get_title().endswith(" buses)")


def test_line_load_profile_light_loads_and_empty(ytrains: pd.DataFrame) -> None:
    light = ytrains.assign(load_after=ytrains["load_after"] // 10)
    up, _ = plotting.line_load_profile(light, "Y", ["A", "B", "C", "D"], NAMES, 7 * H, 8 * H).axes
    assert up.get_ylim()[1] < 100   # zoomed on the loads, capacity in a note
    assert any("above the scale" in t.get_text() for t in up.texts)
    fig = plotting.line_load_profile(ytrains, "Y", ["A", "B", "C", "D"], NAMES, 3 * H, 4 * H)
    assert all(not _by_gid(ax, "mean_load") for ax in fig.axes)


def test_marey_diagram(ytrains: pd.DataFrame) -> None:
    fig = plotting.marey_diagram(ytrains, "Y", KM, NAMES, 7 * H, 8 * H, colors={"Y.branch.fwd": "#00ff00"})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    drawn = {c.get_gid(): c for c in ax.collections}  # one collection per service, a polyline per train
    assert {k: len(c.get_segments()) for k, c in drawn.items()} == {"Y.branch.fwd": 1, "Y.trunk.bwd": 1,
                                                                    "Y.trunk.fwd": 2}
    [b1] = drawn["Y.branch.fwd"].get_segments()
    t, km = b1[:, 0], b1[:, 1]
    assert len(t) == 8 and list(km) == [0.0, 0.0, 1.0, 1.0, 2.2, 2.2, 3.5, 3.5]
    assert t[2] == pytest.approx(7 * H + 300 + 120) and t[3] == pytest.approx(t[2] + 30)   # arrive, depart
    assert to_hex(drawn["Y.branch.fwd"].get_colors()[0]) == "#00ff00"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["Y.branch.fwd", "Y.trunk.bwd", "Y.trunk.fwd"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Alpha", "Bravo", "Charlie", "Echo", "Delta", "Foxtrot"]
    assert ax.get_xlim() == (7 * H, 8 * H)
    assert ax.xaxis.get_major_formatter()(7.5 * H, 0) == "07:30"


def test_marey_labels_every_station_and_names_services() -> None:
    stations = [f"S{k}" for k in range(40)]
    trains = _trains([("x", "L.all.fwd", "up", _calls(stations, 7 * H, [0] * 40, run_s=60))])
    fig = plotting.marey_diagram(trains, "Y", {s: k * 1.0 for k, s in enumerate(stations)},
                                 {s: f"Station {s}" for s in stations}, 7 * H, 8 * H,
                                 service_names={"L.all.fwd": "all stops towards Station S39"}, title="Line Y (S0-S39)")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == [f"Station S{k}" for k in range(40)]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["all stops towards Station S39"]
    assert fig.axes[0].get_title().startswith("Line Y (S0-S39): time-distance diagram")


def test_save_writes_png(tmp_path: Path, ytrains: pd.DataFrame) -> None:
    fig = plotting.marey_diagram(ytrains, "Y", KM, NAMES, 7 * H, 8 * H)
    out = plotting.save(fig, tmp_path / "plots" / "marey.png")
    assert out == tmp_path / "plots" / "marey.png"
    data = out.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


def test_layering_no_simpy_no_pyplot() -> None:
    for path in Path(plotting.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1), "plotting imports only its own modules from the simulator"
                imported.add(("." if node.level else "") + (node.module or ""))
        assert not any(m.startswith("simpy") or m == "matplotlib.pyplot" for m in imported), path
        assert not any(m == "sim" or m.startswith("sim.") for m in imported), path
