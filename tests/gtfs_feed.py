"""A small GTFS feed and the checks an exported feed must pass, shared by the GTFS tests.

FEED is a feed as text tables: two agencies (a metro line and a frequency-based rail line), a
station shared by both with a platform transfer, an interchange walk, a trip past midnight,
calendar_dates exceptions, fares v1; write_feed writes it (or changes of it) as a folder
(tests/unit/test_gtfs.py, test_gtfs_bounds.py). check_feed checks an exported feed with the GTFS
validator when installed and the reference's essential checks (tests/unit/test_gtfs_roundtrip.py,
test_zone_fares.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd

FEED = {
    "agency.txt": """agency_id,agency_name,agency_url,agency_timezone
M,City Metro,https://www.example.com/m,Asia/Shanghai
R,Regional Rail,https://www.example.com/r,Asia/Shanghai
""",
    "stops.txt": """stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station
A,Alpha,31.000,121.000,1,
A1,Alpha,31.000,121.000,0,A
B,Beta,31.000,121.020,,
C,Gamma,31.000,121.040,1,
C1,Gamma,31.000,121.040,0,C
C2,Gamma,31.001,121.040,0,C
D,Delta,31.000,121.060,,
X,Xi,31.020,121.040,,
Y,Ypsilon,31.040,121.040,,
Z,Zeta,31.000,121.100,,
""",
    "translations.txt": """table_name,field_name,language,translation,record_id
stops,stop_name,zh,甲,A
""",
    "routes.txt": """route_id,agency_id,route_short_name,route_long_name,route_type,route_color
M1,M,1,Line 1,1,ff0000
R1,R,R,Regional,2,
B9,M,9,Bus,3,
""",
    "trips.txt": """route_id,service_id,trip_id,direction_id
M1,WK,t1,0
M1,WK,t2,1
M1,WK,t3,0
M1,HOL,t4,0
R1,WK,r1,0
B9,WK,b1,0
""",
    "stop_times.txt": """trip_id,arrival_time,departure_time,stop_id,stop_sequence
t1,08:00:00,08:00:00,A1,1
t1,08:03:00,08:03:30,B,2
t1,08:06:00,08:06:40,C1,3
t1,08:09:00,08:09:00,D,4
t2,08:10:00,08:10:00,D,1
t2,08:12:30,08:13:10,C1,2
t2,08:15:30,08:16:00,B,3
t2,08:19:00,08:19:00,A1,4
t3,24:30:00,24:30:00,A1,1
t3,24:33:00,24:33:30,B,2
t3,24:36:00,24:36:40,C1,3
t3,24:39:00,24:39:00,D,4
t4,10:00:00,10:00:00,A1,1
t4,10:03:00,10:03:30,B,2
t4,10:06:00,10:06:40,C1,3
t4,10:09:00,10:09:00,D,4
r1,07:00:00,07:00:00,C2,1
r1,07:05:00,07:05:30,X,2
r1,07:12:00,07:12:00,Y,3
b1,08:00:00,08:00:00,D,1
b1,08:10:00,08:10:00,Z,2
""",
    "frequencies.txt": """trip_id,start_time,end_time,headway_secs,exact_times
r1,07:00:00,08:00:00,600,1
r1,08:00:00,08:50:00,1200,1
""",
    "calendar.txt": """service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
WK,1,1,1,1,1,0,0,20250303,20250309
""",
    "calendar_dates.txt": """service_id,date,exception_type
WK,20250305,2
HOL,20250305,1
""",
    "transfers.txt": """from_stop_id,to_stop_id,transfer_type,min_transfer_time
C1,C2,2,120
C2,C1,2,120
D,X,2,240
""",
    "fare_attributes.txt": """fare_id,price,currency_type,payment_method,transfers,agency_id
m_flat,3,CNY,1,0,M
r_near,5,CNY,1,0,R
r_far,8,CNY,1,0,R
""",
    "fare_rules.txt": """fare_id,origin_id,destination_id
r_near,z1,z1
r_far,z1,z2
""",
}


def write_feed(folder: Path, tables: dict[str, str] | None = None, **changes: str | None) -> Path:
    """The feed as a folder of .txt files; `changes` replace (or, None, drop) files by name
    (stop_times='...' for stop_times.txt)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**(tables or FEED), **{f"{k}.txt": v for k, v in changes.items()}}.items():
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def check_feed(feed: Path, tmp_path: Path) -> None:
    """No ERROR from the GTFS validator when it is installed (package gtfs-validator, a Python port
    of MobilityData's); the reference's essential checks always."""
    exe = shutil.which("gtfs-validator") or str(Path(sys.executable).parent / "gtfs-validator")
    if Path(exe).exists():
        subprocess.run([exe, "-i", str(feed), "-o", str(tmp_path / "report"), "-c", "CN"], check=True,
                       capture_output=True, timeout=300)
        notices = json.loads((tmp_path / "report" / "report.json").read_text())["notices"]
        assert [n for n in notices if n["severity"] == "ERROR"] == []
    with zipfile.ZipFile(feed) as z:
        tables = {n: pd.read_csv(z.open(n), dtype=str, keep_default_na=False) for n in z.namelist()}
    for name in ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt", "calendar.txt"):
        assert name in tables and len(tables[name])
    st, stops = tables["stop_times.txt"], tables["stops.txt"]
    assert st["stop_id"].isin(stops.loc[stops.location_type == "0", "stop_id"]).all()
    assert st["trip_id"].isin(tables["trips.txt"]["trip_id"]).all()
    assert tables["trips.txt"]["route_id"].isin(tables["routes.txt"]["route_id"]).all()
    assert stops.loc[stops.parent_station != "", "parent_station"].isin(stops.loc[stops.location_type == "1", "stop_id"]).all()
    secs = pd.to_timedelta(st["departure_time"]).dt.total_seconds()
    arr = pd.to_timedelta(st["arrival_time"]).dt.total_seconds()
    same = st["trip_id"].eq(st["trip_id"].shift())
    assert ((arr >= secs.shift()) | ~same).all() and (secs >= arr).all()
