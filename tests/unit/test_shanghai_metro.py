"""The whole Shanghai Metro (networks/shanghai_metro.yaml): each line keeps its published end-to-end run time,
every pair of lines that meet can be changed between both ways, every station is there once, and the network
files validate."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sim.routing import Access, CandidateSearch, LegNetwork
from sim.scenario import load_network
from sim.schema import RoutingSpec

ROOT = Path(__file__).resolve().parents[2]
NETWORK = ROOT / "networks" / "shanghai_metro.yaml"

FLTIME = ("sum of the station-to-station minutes of the official first-train times, "
          "m.shmetro.com/interface/metromap/metromap.aspx?func=fltime, as of 2026-06-26")

# (pattern, from, to, published minutes, source). From/to None: the pattern's first/last stop. The fltime sums
# are those written beside each line's margin in networks/shanghai_metro/ (missing hops filled as noted there).
RUN_TIMES = [
    ("SH1.all_stops.forward", None, None, 64, FLTIME),
    ("SH1.all_stops.backward", None, None, 63, FLTIME),
    ("SH2.full.forward", None, None, 97, FLTIME),
    ("SH2.full.backward", None, None, 94, FLTIME),
    ("SH3.all_stops.forward", None, None, 72, FLTIME),
    ("SH3.all_stops.backward", None, None, 72, FLTIME),
    ("SH4.all_stops.forward", None, None, 61, FLTIME + " (Inner Loop, Yishan Road -> Shanghai Indoor Stadium)"),
    ("SH4.all_stops.backward", None, None, 62, FLTIME + " (Outer Loop, Shanghai Indoor Stadium -> Yishan Road)"),
    ("SH5.main.forward", None, None, 42, FLTIME + " (one hop estimated)"),
    ("SH5.main.backward", None, None, 42, FLTIME + " (one hop estimated)"),
    ("SH5.minhang.forward", None, None, 26, FLTIME + " (one hop estimated)"),
    ("SH6.all_stops.forward", None, None, 65, FLTIME),
    ("SH6.all_stops.backward", None, None, 64, FLTIME),
    ("SH7.all_stops.forward", None, None, 78, FLTIME),
    ("SH7.all_stops.backward", None, None, 78, FLTIME),
    ("SH8.all_stops.forward", None, None, 66, FLTIME),
    ("SH8.all_stops.backward", None, None, 65, FLTIME),
    ("SH9.full.forward", None, None, 103, FLTIME),
    ("SH9.full.backward", None, None, 101, FLTIME),
    ("SH10.main.forward", None, None, 72, FLTIME),
    ("SH10.main.backward", None, None, 73, FLTIME),
    ("SH10.hangzhong.forward", None, None, 70, FLTIME + " (one hop estimated)"),
    ("SH12.all_stops.forward", None, None, 77, FLTIME),
    ("SH12.all_stops.backward", None, None, 77, FLTIME),
    ("SH13.all_stops.forward", None, None, 75, FLTIME),
    ("SH13.all_stops.backward", None, None, 75, FLTIME),
    ("SH14.all_stops.forward", None, None, 67, FLTIME),
    ("SH14.all_stops.backward", None, None, 67, FLTIME),
    ("SH15.all_stops.forward", None, None, 67, FLTIME),
    ("SH15.all_stops.backward", None, None, 67, FLTIME),
    ("SH16.local.forward", None, None, 57, FLTIME),
    ("SH16.local.backward", None, None, 55, FLTIME),
    ("SH16.express.forward", None, None, 45, "the all-stops time less 'about 12 minutes', dadawen.com re-post of a "
                                             "2016 report on the express trains (secondary)"),
    ("SH18.all_stops.forward", None, None, 72, FLTIME),
    ("SH18.all_stops.backward", None, None, 70, FLTIME),
    ("SHPJ.all_stops.forward", None, None, 12, FLTIME),
    ("SHPJ.all_stops.backward", None, None, 11, FLTIME),
    ("SHAL.all_stops.forward", None, None, 39, FLTIME + "; 'around 40 minutes', Shine 2024-12-25"),
    ("SHAL.all_stops.backward", None, None, 40, FLTIME),
    # Lines 11 and 17 keep the calibration of their own files (their fltime sums are shorter: see shanghai_metro.yaml)
    ("SH11.branch.backward", None, "sh_xujiahui", 70,
     "Kunshan government, 2013, en.sheshantravel.gov.cn/2013-10/21/c_752446.htm: Huaqiao -> Xujiahui 70 minutes"),
    ("SH17.all_stops.forward", None, "sh_oriental_land", 45,
     "Shanghai government, 2017, www.shanghai.gov.cn/shanghai/node27118/node27818/u22ai88228.html: about 45 minutes"),
]

# Stations of each line in the official station lists (m.shmetro.com "lineStations", 2026-06-26): Line 5 and
# Line 10 with their branches, Line 11 with the Huaqiao branch, Line 4 the 26 stations of the loop.
STATIONS_PER_LINE = {"SH1": 28, "SH2": 31, "SH3": 29, "SH4": 26, "SH5": 19, "SH6": 28, "SH7": 33, "SH8": 30,
                     "SH9": 35, "SH10": 37, "SH11": 40, "SH12": 32, "SH13": 31, "SH14": 30, "SH15": 30, "SH16": 13,
                     "SH17": 14, "SH18": 31, "SHPJ": 6, "SHAL": 7}
# Station records: one per station, but one per line where the lines' platforms are separate stations
# (Xujiahui 3, Caoyang Road 3, Shanghai Railway Station, Jiangsu Road, Yishan Road, South Pudong Road,
# Loushanguan Road, National Exhibition and Convention Center 2 each, the 4 Airport Link stations at the metro)
STATION_RECORDS = 430


@pytest.fixture(scope="module")
def metro():
    net, loaded = load_network(NETWORK)
    return net, loaded


def pattern(net, pid):
    return next(p for p in net.patterns if p.id == pid)


@pytest.mark.parametrize("pid, a, b, minutes, source", RUN_TIMES, ids=[f"{r[0]}:{r[2] or 'end'}" for r in RUN_TIMES])
def test_run_times_within_5_percent_of_the_published_ones(metro, pid, a, b, minutes, source):
    net, _ = metro
    p = pattern(net, pid)
    ids = [net.stations[s].id for s in p.stops]
    i = ids.index(a) if a else 0
    j = ids.index(b) if b else len(ids) - 1
    modelled = (p.arr_offset[j] - p.dep_offset[i]) / 60.0
    assert abs(modelled - minutes) <= 0.05 * minutes, (pid, modelled, minutes, source)


def line_stations(net) -> dict[str, set[int]]:
    """Stations each line's trains call at (through trains onto another line's track count for their own line)."""
    out: dict[str, set[int]] = {}
    for p in net.patterns:
        out.setdefault(net.lines[p.line].id, set()).update(p.stops)
    return out


def test_every_station_of_the_official_lists_once(metro):
    net, loaded = metro
    defined = Counter(st.id for model, _ in loaded.files for st in model.stations)
    assert not [sid for sid, n in defined.items() if n > 1]
    assert len(net.stations) == STATION_RECORDS
    per_line = line_stations(net)
    assert {k: len(v) for k, v in per_line.items()} == STATIONS_PER_LINE
    # every station record is served by some line
    assert set().union(*per_line.values()) == set(range(len(net.stations)))


def test_lines_3_and_4_share_the_platforms_of_hongqiao_road_to_baoshan_road(metro):
    net, _ = metro
    shared = ["sh_hongqiao_road", "sh_west_yanan_road", "sh_zhongshan_park", "sh_jinshajiang_road",
              "sh_caoyang_road_l34", "sh_zhenping_road", "sh_zhongtan_road", "sh_shanghai_railway_station_l34",
              "sh_baoshan_road"]
    for direction in ("forward", "backward"):
        l3, l4 = pattern(net, f"SH3.all_stops.{direction}"), pattern(net, f"SH4.all_stops.{direction}")
        plat3 = {net.stations[s].id: pl for s, pl in zip(l3.stops, l3.platforms)}
        plat4 = {net.stations[s].id: pl for s, pl in zip(l4.stops, l4.platforms)}
        assert all(plat3[s] == plat4[s] for s in shared)
        assert plat3["sh_yishan_road"] != plat4["sh_yishan_road_l4"]


def meetings(net) -> list[tuple[str, str, int, int]]:
    """(line a, line b, station of a, station of b) where two lines meet: both call at one station, or an
    interchange joins a station of each."""
    per_line = line_stations(net)
    lines = sorted(per_line)
    out = []
    for i, a in enumerate(lines):
        for b in lines[i + 1:]:
            common = sorted(per_line[a] & per_line[b])
            if common:
                out.append((a, b, common[0], common[0]))
                continue
            joined = sorted((x, y) for (x, y) in net.transfers if x in per_line[a] and y in per_line[b])
            if joined:
                out.append((a, b, *joined[0]))
    return out


def neighbour_only_on(net, line: str, at: int, other: str) -> int:
    """A station of `line` nearest to `at` along its patterns that `other` does not serve."""
    per_line = line_stations(net)
    best = None
    for p in net.patterns:
        if net.lines[p.line].id != line or at not in p.stops:
            continue
        k = p.stops.index(at)
        for d in range(1, len(p.stops)):
            for j in (k - d, k + d):
                if 0 <= j < len(p.stops) and p.stops[j] not in per_line[other]:
                    if best is None or d < best[0]:
                        best = (d, p.stops[j])
                    break
            if best is not None and best[0] <= d:
                break
    assert best is not None, (line, net.stations[at].id)
    return best[1]


def test_every_interchange_can_be_used_both_ways(metro):
    net, _ = metro
    legs, access = LegNetwork(net, 7 * 3600.0, 10 * 3600.0), Access(net)
    search = CandidateSearch(net, legs, access, RoutingSpec())
    pairs = []
    for a, b, sa, sb in meetings(net):
        oa, ob = neighbour_only_on(net, a, sa, b), neighbour_only_on(net, b, sb, a)
        pairs += [(a, b, oa, ob), (b, a, ob, oa)]
    assert len(pairs) > 150  # the 20 lines meet at many places
    dests = np.unique([d for _, _, _, d in pairs])
    h_a, h_b = search.lower_bounds(dests)
    row = {int(d): i for i, d in enumerate(dests)}
    unreachable = [(a, b, net.stations[o].id, net.stations[d].id) for a, b, o, d in pairs
                   if not np.isfinite(h_b[row[int(d)], o])]
    assert not unreachable
    for a, b, o, d in pairs[::5]:  # the candidate routes themselves, on a sample
        assert search.candidates(o, d), (a, b, net.stations[o].id, net.stations[d].id)


@pytest.mark.parametrize("name", ["shanghai_metro.yaml", "yrd_shanghai_metro.yaml"])
def test_the_network_files_validate(name):
    done = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "validate", f"networks/{name}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"ok: networks/{name}" in done.stdout.splitlines()
    assert "WARNING" not in done.stdout + done.stderr
