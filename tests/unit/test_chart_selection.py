"""Per-line charts on a network of many lines: `run` draws the busiest MAX_LINE_CHARTS lines, says
so in the map's caption, and draws every line asked for."""

from __future__ import annotations

import toynet as T
from sim.api import run
from sim.report import RunView, standard_charts
from sim.report.charts import MAX_LINE_CHARTS, busiest_lines

N_LINES = MAX_LINE_CHARTS + 3


def test_a_network_of_many_lines_gets_charts_of_its_busiest(tmp_path):
    op = T.operator("OP", facilities={}, entry=[], exit=[])
    stations, lines, origins = [], [], []
    for k in range(N_LINES):
        a, b = f"A{k}", f"B{k}"
        stations += [T.station(a, 121.0 + 0.1 * k), T.station(b, 121.02 + 0.1 * k)]
        lines.append(T.line(f"L{k}", [(a, 0.0), (b, 2.0)], {"forward": T.headway("06:00", "09:00", 300)},
                            run_s={f"{a}>{b}": 180}))
        origins.append(a)
    scn = T.scenario(3_000, origins, [f"B{k}" for k in range(N_LINES)], start="07:00", end="08:00", sim_end="09:00")
    # more riders on the higher-numbered lines: from A_k, k + 1 times the weight
    scn["demand"]["segments"][0]["generator"]["origins"]["weights"] = {f"A{k}": k + 1.0 for k in range(N_LINES)}
    res = run(T.write(tmp_path / "many", T.network(stations, lines, operators=[op]), scn))
    view = RunView.of_result(res)
    busiest = busiest_lines(view)
    assert busiest == [f"L{k}" for k in range(N_LINES - MAX_LINE_CHARTS, N_LINES)]
    charts = standard_charts(view, tmp_path / "plots")
    marey = sorted(p.name for p, _ in charts if p.name.startswith("marey_"))
    assert marey == sorted(f"marey_{line}.png" for line in busiest)
    caption = next(c for p, c in charts if p.name == "network_map.png")
    assert f"drawn for the {MAX_LINE_CHARTS} of the {N_LINES} lines with the most boardings" in caption
    asked = standard_charts(view, tmp_path / "asked", lines=["L0"])
    assert [p.name for p, _ in asked if p.name.startswith("marey_")] == ["marey_L0.png"]
