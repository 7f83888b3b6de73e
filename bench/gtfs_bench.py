"""GTFS import at the scale of a whole city's metro: a synthetic feed of 20 lines of 25 stations
(500 stations), 10,000 trips with shape_dist_traveled in metres, short turns, slower peak runs (so
that run times differ between trips), walking transfers where lines cross; writes it as a zip,
imports it, writes the network as YAML and builds it, printing the time of each step.

    .venv/bin/python bench/gtfs_bench.py [--lines 20] [--stations 25] [--trips 10000]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def city_feed(path: Path, n_lines: int = 20, n_stations: int = 25, n_trips: int = 10_000) -> Path:
    """A metro feed as a zip at `path`: lines alternate east-west and north-south across a grid (1.2 km
    between stations), each runs n_trips / n_lines trips from 05:00, both directions, every third a
    short turn at the line's middle station; runs take 100 s + 60 s per km, 10 % longer 07:00-09:00;
    30 s dwells; one service on weekdays of 2025."""
    tables: dict[str, list[list]] = {
        "agency.txt": [["agency_id", "agency_name", "agency_url", "agency_timezone"],
                       ["CM", "City Metro", "https://www.example.com/", "Asia/Shanghai"]],
        "calendar.txt": [["service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                          "start_date", "end_date"], ["WD", 1, 1, 1, 1, 1, 0, 0, "20250101", "20251231"]],
        "stops.txt": [["stop_id", "stop_name", "stop_lat", "stop_lon", "location_type", "parent_station"]],
        "routes.txt": [["route_id", "agency_id", "route_short_name", "route_type"]],
        "trips.txt": [["route_id", "service_id", "trip_id", "direction_id"]],
        "stop_times.txt": [["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence",
                            "shape_dist_traveled"]],
        "transfers.txt": [["from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time"]],
    }
    per_line = n_trips // n_lines
    headway = 19 * 3600 * 2 // per_line  # each direction, 05:00 to about 24:00
    for li in range(n_lines):
        ids = _line_stations(tables, li, n_lines, n_stations)
        tables["routes.txt"].append([f"L{li + 1}", "CM", f"{li + 1}", 1])
        for k in range(per_line):
            direction = k % 2
            seq = ids if direction == 0 else ids[::-1]
            if k % 3 == 2:
                seq = seq[: n_stations // 2 + 1]
            tid = f"L{li + 1}-{k}"
            tables["trips.txt"].append([f"L{li + 1}", "WD", tid, direction])
            _stop_times(tables["stop_times.txt"], tid, seq, 5 * 3600 + (k // 2) * headway)
    _transfers(tables, n_lines, n_stations)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, rows in tables.items():
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(rows)
            z.writestr(name, text.getvalue())
    return path


def _line_stations(tables: dict, li: int, n_lines: int, n_stations: int) -> list[str]:
    """The stations (parent station + one platform) of line li along its grid row or column."""
    half = n_lines // 2
    ids = []
    for k in range(n_stations):
        x, y = (k, (li % half) * n_stations / half) if li % 2 == 0 else ((li % half) * n_stations / half + 0.5, k)
        sid = f"S{li + 1}_{k + 1}"
        lat, lon = 31.0 + y * 1.2 / 111.0, 121.0 + x * 1.2 / 95.0
        tables["stops.txt"] += [[sid, f"Station {li + 1}-{k + 1}", f"{lat:.6f}", f"{lon:.6f}", 1, ""],
                                [f"{sid}_P", f"Station {li + 1}-{k + 1}", f"{lat:.6f}", f"{lon:.6f}", 0, sid]]
        ids.append(f"{sid}_P")
    return ids


def _stop_times(rows: list, tid: str, seq: list[str], t0: int) -> None:
    t = t0
    for i, stop in enumerate(seq):
        if i:
            run = 100 + 72  # 1.2 km: 100 s + 60 s per km
            t += round(run * 1.1) if 7 * 3600 <= t0 < 9 * 3600 else run
        dwell = 0 if i in (0, len(seq) - 1) else 30
        rows.append([tid, _clock(t), _clock(t + dwell), stop, i + 1, i * 1200])
        t += dwell


def _transfers(tables: dict, n_lines: int, n_stations: int) -> None:
    """A 180 s walk between the nearest stations of every pair of crossing lines."""
    stops = {r[0]: (float(r[2]), float(r[3])) for r in tables["stops.txt"][1:] if r[4] == 1}
    for a in range(0, n_lines, 2):
        for b in range(1, n_lines, 2):
            sa = [s for s in stops if s.startswith(f"S{a + 1}_")]
            sb = [s for s in stops if s.startswith(f"S{b + 1}_")]
            x, y = min(((p, q) for p in sa for q in sb),
                       key=lambda pq: sum((u - v) ** 2 for u, v in zip(stops[pq[0]], stops[pq[1]])))
            tables["transfers.txt"] += [[x, y, 2, 180], [y, x, 2, 180]]


def _clock(t: int) -> str:
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=20)
    ap.add_argument("--stations", type=int, default=25)
    ap.add_argument("--trips", type=int, default=10_000)
    args = ap.parse_args()
    from sim.gtfs import import_feed, write_network
    from sim.scenario import load_network

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        feed = city_feed(Path(tmp) / "city.zip", args.lines, args.stations, args.trips)
        print(f"feed written: {args.lines * args.stations} stations, {args.trips:,} trips "
              f"({feed.stat().st_size / 1e6:.1f} MB zip) in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        net = import_feed(feed)
        t_import = time.perf_counter() - t
        t = time.perf_counter()
        write_network(net, Path(tmp) / "city.yaml")
        t_write = time.perf_counter() - t
        t = time.perf_counter()
        network, _ = load_network(Path(tmp) / "city.yaml")
        t_build = time.perf_counter() - t
    print(f"import_feed {t_import:.2f} s, write YAML {t_write:.2f} s, load and build {t_build:.2f} s: "
          f"{len(network.stations)} stations, {len(network.lines)} lines, {len(network.patterns)} patterns, "
          f"{sum(len(p.departures) for p in network.patterns):,} trains")
    print(net["description"])


if __name__ == "__main__":
    main()
