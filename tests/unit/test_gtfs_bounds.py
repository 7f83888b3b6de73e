"""GTFS feeds that try to do harm, or are merely broken in ways the importer must not trip over: feed
text with line breaks that would add to the network file written from it, zip bombs, entries that
are links, pipes or devices, pipes and devices in a folder feed, files too large, times past the
simulated clock, rows with a field too many. Each ends within seconds in a UserError naming the
file (and the row and field where there is one), or imports exactly what the feed holds."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from gtfs_feed import FEED, write_feed
from sim.errors import UserError
from sim.gtfs import import_feed, write_network
from sim.gtfs.feed import MAX_COLUMNS, MAX_TABLE_BYTES, MAX_VALUES, MAX_ZIP_ENTRIES, one_line
from sim.loading import read_yaml
from sim.scenario import load_network

BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Every character str.splitlines splits at (YAML breaks lines at \\n, \\r, NEL, U+2028 and U+2029)."""
EVIL = "".join(f"{ch}  - {{id: E{k}}}{ch}  #" for k, ch in enumerate(BREAKS))
"""Text that adds a line (an item `E<k>` of the list the comment is in) after each kind of line break,
were it written raw."""
LISTS = ("operators", "stations", "lines", "interchanges", "track_links")


@contextlib.contextmanager
def within(seconds: float):
    """Fail when the block takes longer than `seconds`, interrupting it (a read that would block
    forever, or one of a device that never ends)."""
    def late(signum, frame):
        raise AssertionError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, late)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refused(feed: Path, seconds: float = 5.0) -> UserError:
    """The UserError importing `feed` ends in, within `seconds`."""
    with within(seconds), pytest.raises(UserError) as err:
        import_feed(feed)
    return err.value


# --- feed text in the network file -----------------------------------------------------------------


def quoted(text: str) -> str:
    return '"' + text + '"'  # CSV keeps \n and \r inside quotes


def hostile_feed(folder: Path) -> Path:
    """The small feed with every kind of line break, each followed by a YAML item, in a route_id, the
    route's names, a trip_id, a stop's name and an agency's name; and stop names with only the line
    breaks YAML allows unescaped (PyYAML would write them in single quotes, raw)."""
    route, trip = quoted("M1" + EVIL), quoted("t1" + EVIL)
    short = quoted(f"1{BREAKS}1")  # the line's name, with the long one: at most 200 characters
    routes = FEED["routes.txt"].replace("M1,M,1,Line 1,", f"{route},M,{short},{quoted('Line 1' + EVIL)},")
    trips = FEED["trips.txt"].replace("M1,", f"{route},").replace(",t1,", f",{trip},")
    stop_times = FEED["stop_times.txt"].replace("t1,", f"{trip},")
    stops = FEED["stops.txt"].replace("A,Alpha,", f"A,{quoted('Alpha' + EVIL)},").replace(
        "B,Beta,", "B,Beta\u2028  - {id: E},").replace("C,Gamma,", "C,Gamma\x85Γ\u2029,")
    agency = FEED["agency.txt"].replace("M,City Metro,", f"M,{quoted('City Metro' + EVIL)},")
    return write_feed(folder, routes=routes, trips=trips, stop_times=stop_times, stops=stops, agency=agency)


def test_line_breaks_in_feed_text_cannot_add_to_the_network_file(tmp_path):
    net = import_feed(hostile_feed(tmp_path / "feed"))
    alpha = net["stations"][0]
    assert all(ch in alpha["name_en"] for ch in BREAKS)  # the feed's text, every break kept in the value
    write_network(net, tmp_path / "n.yaml")
    text = (tmp_path / "n.yaml").read_text(encoding="utf-8")
    assert text.splitlines() == text.split("\n")[:-1]  # no line break but \n, anywhere (values escape them)
    stations = [ln for ln in text.split("\n") if ln.startswith("  - {id: ")]
    assert len(stations) == 6  # one line each
    network, _ = load_network(tmp_path / "n.yaml")
    assert [s.id for s in network.stations] == ["A", "B", "C", "D", "X", "Y"]
    assert [ln.id for ln in network.lines] == [ln["id"] for ln in net["lines"]] and len(network.lines) == 2
    assert [s.name_en for s in network.stations[:3]] == [alpha["name_en"], "Beta\u2028  - {id: E}", "Gamma\x85Γ"]
    loaded = read_yaml(tmp_path / "n.yaml").data  # exactly the imported network: nothing added, nothing lost
    assert loaded == {k: [{f: x for f, x in item.items() if f != "source"} for item in v] if k in LISTS else v
                      for k, v in net.items()}


def test_feed_text_that_reads_like_a_number_stays_text(tmp_path):
    stops = FEED["stops.txt"].replace("A,Alpha,", "A,1e+308,").replace("B,Beta,", "B,0o17,").replace(
        "C,Gamma,", "C,.inf,")
    net = import_feed(write_feed(tmp_path / "feed", stops=stops))
    write_network(net, tmp_path / "n.yaml")
    network, _ = load_network(tmp_path / "n.yaml")  # the loader reads YAML 1.2 numbers: quoted, they stay names
    assert [s.name_en for s in network.stations[:3]] == ["1e+308", "0o17", ".inf"]


def test_the_description_carries_feed_text_on_its_own_lines_only(tmp_path):
    tables = {**FEED, "agency.txt": FEED["agency.txt"].replace("R,Regional Rail,", f"R,{quoted('Regional' + EVIL)},")}
    net = import_feed(write_feed(tmp_path / "feed", tables))
    assert "fares cannot be expressed" in net["description"]  # a note naming the agency
    assert all(one_line(line) == line for line in net["description"].split("\n"))
    write_network(net, tmp_path / "n.yaml")
    text = (tmp_path / "n.yaml").read_text(encoding="utf-8")
    head = text[:text.index("\nschema_version:")].split("\n")
    assert all(line.startswith("#") for line in head)
    assert read_yaml(tmp_path / "n.yaml").data["description"] == net["description"]


def test_every_line_break_and_control_character_becomes_a_space():
    text = "".join(map(chr, range(0x110000)))
    breaks = {c for c in text if len(f"a{c}b".splitlines()) > 1}
    assert breaks == set(BREAKS)
    cleaned = one_line(text)
    assert cleaned.splitlines() == [cleaned]
    assert all(one_line(c) == " " for c in breaks | {chr(c) for c in range(32)} | {"\x7f", "\x9f", "\u202e"})
    assert one_line("Gare du Nord 北站 é") == "Gare du Nord 北站 é"


def test_feed_text_quoted_in_an_error_stays_on_its_line(tmp_path):
    st = FEED["stop_times.txt"].replace("t1,08:03:00,08:03:30,B,2", 't1,08:03:00,08:03:30,"Q\u2028error: forged",2')
    err = refused(write_feed(tmp_path / "feed", stop_times=st))
    [p] = err.problems
    assert str(p).splitlines() == [str(p)] and "unknown stop 'Q error: forged'" in p.message


# --- zips: bombs, lying headers, entries that are not files ----------------------------------------


def deflated_zeros(megabytes: int) -> bytes:
    """Raw deflate data of `megabytes` MiB of zero bytes, about 1 kB per MiB: one compressed MiB
    repeated (a full flush makes each copy stand alone)."""
    piece = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = piece.compress(bytes(1 << 20)) + piece.flush(zlib.Z_FULL_FLUSH)
    return one * megabytes + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


def raw_zip(path: Path, entries: list[tuple[str, bytes, int, int]], mode: int = stat.S_IFREG | 0o644,
            flags: int = 0) -> Path:
    """A zip written byte by byte, so that what its headers declare is up to the test: entries of
    (name, deflated data, declared uncompressed size, CRC-32), with Unix `mode` bits."""
    body = directory = b""
    for name, data, size, crc in entries:
        n = name.encode()
        head = struct.pack("<HHHHHIII", 20, flags, zipfile.ZIP_DEFLATED, 0, 33, crc, len(data), size)
        directory += (b"PK\x01\x02" + struct.pack("<H", 0x0314) + head
                      + struct.pack("<HHHHHII", len(n), 0, 0, 0, 0, mode << 16, len(body)) + n)
        body += b"PK\x03\x04" + head + struct.pack("<HH", len(n), 0) + n + data
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries), len(directory), len(body), 0)
    path.write_bytes(body + directory + end)
    return path


def test_a_zip_bomb_ends_at_once_naming_the_file_and_the_limit(tmp_path):
    bomb = raw_zip(tmp_path / "bomb.zip", [("stop_times.txt", deflated_zeros(3052), 3052 << 20, 0)])
    assert bomb.stat().st_size < 4_000_000
    [p] = refused(bomb, 1).problems
    assert p.file == f"{bomb}/stop_times.txt"
    assert p.message.startswith(f"uncompressed size 3.2 GB exceeds the limit of {MAX_TABLE_BYTES // 1_000_000} MB")


def test_an_entry_that_expands_like_a_bomb_is_refused_below_the_size_limit(tmp_path):
    data = bytes(50 << 20)
    bomb = raw_zip(tmp_path / "f.zip", [("stops.txt", deflated_zeros(50), len(data), zlib.crc32(data))])
    [p] = refused(bomb, 2).problems
    assert p.file == f"{bomb}/stops.txt" and p.message.startswith("expands 1,0") and "not a GTFS file" in p.message


def test_an_entry_holding_more_than_its_header_says_is_read_no_further(tmp_path):
    liar = raw_zip(tmp_path / "f.zip", [("stop_times.txt", deflated_zeros(3052), 1000, 0)])
    [p] = refused(liar, 2).problems
    assert p.file == f"{liar}/stop_times.txt" and "cannot be read from the zip (Bad CRC-32" in p.message


def test_a_damaged_or_encrypted_entry_is_named(tmp_path):
    damaged = raw_zip(tmp_path / "d.zip", [("stops.txt", b"\xff" * 64, 1000, 0)])
    [p] = refused(damaged).problems
    assert p.file == f"{damaged}/stops.txt" and "cannot be read from the zip" in p.message
    locked = raw_zip(tmp_path / "e.zip", [("stops.txt", b"\xff" * 64, 1000, 0)], flags=0x1)
    assert refused(locked).problems[0].message == "is encrypted"


@pytest.mark.parametrize("kind,what", [(stat.S_IFLNK, "a symbolic link"), (stat.S_IFIFO, "a pipe (FIFO)"),
                                       (stat.S_IFCHR, "a device"), (stat.S_IFSOCK, "a socket")])
def test_a_zip_entry_that_is_not_a_regular_file_is_refused(tmp_path, kind, what):
    feed = tmp_path / "f.zip"
    with zipfile.ZipFile(feed, "w") as z:
        for name, text in FEED.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((kind if name == "stops.txt" else stat.S_IFREG) | 0o644) << 16
            z.writestr(info, "/dev/zero" if name == "stops.txt" else text)
    [p] = refused(feed).problems
    assert p.file == f"{feed}/stops.txt" and p.message == f"is {what} in the zip, not a regular file"


def test_a_zip_listing_too_many_files_is_refused_before_they_are_read(tmp_path):
    feed = tmp_path / "f.zip"
    with zipfile.ZipFile(feed, "w") as z:
        for k in range(MAX_ZIP_ENTRIES + 1):
            z.writestr(f"junk/{k}", b"")
    [p] = refused(feed).problems
    assert p.file == str(feed) and f"lists {MAX_ZIP_ENTRIES + 1:,} files" in p.message


def test_the_files_of_a_zip_together_are_bounded(tmp_path):
    size = 200_000_000  # each under the limit, 600 MB together; each 2.1 MB compressed (expanding 95 times)
    feed = raw_zip(tmp_path / "f.zip", [(n, os.urandom(2_100_000), size, 0)
                                         for n in ("stops.txt", "trips.txt", "stop_times.txt")])
    [p] = refused(feed).problems
    assert p.file == str(feed) and p.message.startswith("the GTFS files read add up to 600 MB, more than the limit")


def test_a_feed_in_a_folder_of_the_zip_is_read(tmp_path):
    feed = tmp_path / "f.zip"
    with zipfile.ZipFile(feed, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in FEED.items():
            z.writestr(f"gtfs/{name}", text)
    assert [ln["id"] for ln in import_feed(feed)["lines"]] == ["M1", "R1"]


# --- folders: pipes, devices, sizes; the feed's own path --------------------------------------------


def test_a_pipe_in_a_folder_feed_is_refused_without_waiting_for_a_writer(tmp_path):
    folder = write_feed(tmp_path / "feed", stop_times=None)
    os.mkfifo(folder / "stop_times.txt")
    [p] = refused(folder, 3).problems
    assert p.file == f"{folder}/stop_times.txt" and p.message == "is a pipe (FIFO), not a regular file"


def test_a_link_to_a_device_in_a_folder_feed_is_refused_unread(tmp_path):
    folder = write_feed(tmp_path / "feed", stops=None)
    os.symlink("/dev/zero", folder / "stops.txt")
    [p] = refused(folder, 3).problems
    assert p.file == f"{folder}/stops.txt" and p.message == "is a device, not a regular file"


def test_a_link_to_a_regular_file_is_read(tmp_path):
    folder = write_feed(tmp_path / "feed", stops=None)
    (tmp_path / "stops.txt").write_text(FEED["stops.txt"], encoding="utf-8")
    os.symlink(tmp_path / "stops.txt", folder / "stops.txt")
    assert len(import_feed(folder)["stations"]) == 6


@pytest.mark.parametrize("make,what", [(os.mkfifo, "a pipe (FIFO)"),
                                       (lambda p: os.symlink("/dev/zero", p), "a device")])
def test_a_feed_path_that_is_a_pipe_or_a_device_is_refused(tmp_path, make, what):
    feed = tmp_path / "feed.zip"
    make(feed)
    [p] = refused(feed, 3).problems
    assert p.file == str(feed) and p.message == f"GTFS feed is {what}; expected a zip file or a folder"


def test_files_of_a_folder_feed_too_large_are_refused_unread(tmp_path):
    folder = write_feed(tmp_path / "feed")
    with open(folder / "shapes.txt", "wb") as f:  # not read: no limit
        f.truncate(2 * MAX_TABLE_BYTES)
    with open(folder / "stop_times.txt", "wb") as f:  # sparse: takes no disk
        f.truncate(300_000_000)
    [p] = refused(folder, 2).problems
    assert p.file == f"{folder}/stop_times.txt" and p.message.startswith(
        f"size 300 MB exceeds the limit of {MAX_TABLE_BYTES // 1_000_000} MB; a feed this large must be cut")
    for name in ("stops.txt", "trips.txt", "stop_times.txt"):
        with open(folder / name, "wb") as f:
            f.truncate(200_000_000)
    [p] = refused(folder, 2).problems
    assert p.file == str(folder) and p.message.startswith("the GTFS files read add up to 600 MB")


def test_lines_that_cost_more_than_their_bytes_are_counted_before_they_are_parsed(tmp_path):
    header = FEED["stops.txt"].split("\n")[0] + "\n"  # 6 columns: each blank line would be 6 values
    lines = MAX_VALUES // 6 + 1
    folder = write_feed(tmp_path / "feed", stops=header + "\n" * lines)
    [p] = refused(folder, 3).problems
    assert p.file == f"{folder}/stops.txt" and p.message.startswith(f"{lines + 1:,} lines of 6 columns make "
                                                                     f"{6 * lines + 6:,} values (")
    assert f"more in the files before it), more than the {MAX_VALUES:,} read" in p.message
    # trips.txt (4 columns, read after stops.txt) is within the limit by itself, not with stops.txt
    trips = FEED["trips.txt"].split("\n")[0] + "\n" + "\n" * (MAX_VALUES * 23 // 100)
    folder = write_feed(tmp_path / "feed2", stops=header + "\n" * (MAX_VALUES // 60), trips=trips)
    [p] = refused(folder, 3).problems
    assert p.file == f"{folder}/trips.txt" and p.message.startswith(f"{MAX_VALUES * 23 // 100 + 1:,} lines of 4 "
                                                                     "columns")


def test_a_header_of_too_many_columns_is_refused_at_once(tmp_path):
    header = ",".join(f"c{k}" for k in range(MAX_COLUMNS + 1))
    [p] = refused(write_feed(tmp_path / "feed", stops=f"{header}\n{',' * MAX_COLUMNS}\n"), 2).problems
    assert (p.line, p.message) == (1, f"the header has {MAX_COLUMNS + 1:,} columns, more than the {MAX_COLUMNS:,} "
                                      "read: not a GTFS table")


# --- values and rows ---------------------------------------------------------------------------------


@pytest.mark.parametrize("late", ["73:00:00", "999:00:00"])
def test_times_past_the_simulated_clock_are_refused_at_their_row(tmp_path, late):
    st = FEED["stop_times.txt"].replace("t3,24:39:00,24:39:00,D,4", f"t3,{late},{late},D,4")
    [p, *_] = refused(write_feed(tmp_path / "feed", stop_times=st)).problems
    assert (p.file, p.path, p.line) == (f"{tmp_path}/feed/stop_times.txt", "arrival_time", 13)
    assert p.message == f"time '{late}' is past 72:00:00, the latest the simulator keeps (the end of a third service day)"
    fr = FEED["frequencies.txt"].replace("08:00:00,08:50:00", f"08:00:00,{late}")
    [p] = refused(write_feed(tmp_path / "feed2", frequencies=fr)).problems
    assert (p.file, p.path, p.line) == (f"{tmp_path}/feed2/frequencies.txt", "end_time", 3)


def test_a_time_of_72_hours_is_kept(tmp_path):
    st = FEED["stop_times.txt"].replace("t3,24:30:00,24:30:00", "t3,71:50:00,71:50:00").replace(
        "24:33:00,24:33:30", "71:53:00,71:53:30").replace("24:36:00,24:36:40", "71:56:00,71:56:40").replace(
        "24:39:00,24:39:00", "72:00:00,72:00:00")
    patterns = next(ln for ln in import_feed(write_feed(tmp_path / "feed", stop_times=st))["lines"]
                    if ln["id"] == "M1")["patterns"]
    # t3 takes a minute longer to D than t1: a pattern of its own, with its times
    assert sorted(d for p in patterns for d in p["timetable"].get("forward", {}).get("departures", [])) == \
        ["08:00:00", "71:50:00"]


@pytest.mark.parametrize("row,line", [(1, 2), (3, 4)])
def test_a_row_with_a_field_more_than_the_header_is_refused_at_its_line(tmp_path, row, line):
    rows = FEED["routes.txt"].split("\n")
    rows[row] += ",extra"  # on the first row, pandas would take the first column as the index
    [p] = refused(write_feed(tmp_path / "feed", routes="\n".join(rows))).problems
    assert (p.file, p.line) == (f"{tmp_path}/feed/routes.txt", line)
    assert p.message == "not valid CSV: row has 7 fields, the header has 6"


def test_a_row_with_fewer_fields_has_its_last_values_empty(tmp_path):
    routes = FEED["routes.txt"].replace("R1,R,R,Regional,2,", "R1,R,R,Regional,2")
    net = import_feed(write_feed(tmp_path / "feed", routes=routes))
    assert [ln["id"] for ln in net["lines"]] == ["M1", "R1"] and "color" not in net["lines"][1]


BROKEN_CSV = [
    ("stops", FEED["stops.txt"].replace("stop_id,stop_name,", "stop_id,stop_id,"), "stop_id", 1,
     "column named twice in the header"),
    ("stops", "\n" + FEED["stops.txt"], "", 1, "not valid CSV: the first line is empty (it must name the columns)"),
    ("stops", FEED["stops.txt"].replace("B,Beta,", 'B,"Beta,'), "", 4, "not valid CSV: EOF inside string"),
    ("frequencies", FEED["frequencies.txt"].replace(",1200,", ",inf,"), "headway_secs", 3,
     "expected a whole number of at least 1, got 'inf'"),
]


@pytest.mark.parametrize("table,text,column,line,message", BROKEN_CSV, ids=[b[-1][:30] for b in BROKEN_CSV])
def test_malformed_tables_are_refused_at_their_line(tmp_path, table, text, column, line, message):
    [p] = refused(write_feed(tmp_path / "feed", **{table: text})).problems
    assert (p.file, p.path, p.line) == (f"{tmp_path}/feed/{table}.txt", column, line)
    assert p.message.startswith(message)


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path):
    folder = write_feed(tmp_path / "feed")
    (folder / "stops.txt").write_bytes(FEED["stops.txt"].encode().replace(b"Gamma", b"G\xe4mma", 1))
    [p] = refused(folder).problems
    at = FEED["stops.txt"].encode().index(b"Gamma") + 1
    assert (p.file, p.line, p.message) == (f"{folder}/stops.txt", 5, f"not UTF-8 text (invalid continuation byte at "
                                                                     f"byte {at})")


def test_values_the_schema_refuses_are_placed_at_the_row_they_came_from(tmp_path):
    stops = FEED["stops.txt"].replace("B,Beta,31.000,121.020", "B,Beta,121.000,31.020")  # lat and lon swapped
    p = refused(write_feed(tmp_path / "feed", stops=stops)).problems[0]
    assert (p.file, p.line) == (f"{tmp_path}/feed/stops.txt", 4)
    assert p.message.startswith("the network imported from this row is invalid: stations[1].lat: Input should be")
    overlapping = FEED["frequencies.txt"] + "r1,07:30:00,08:00:00,600,1\n"
    p = refused(write_feed(tmp_path / "feed2", frequencies=overlapping)).problems[0]
    assert (p.file, p.line) == (f"{tmp_path}/feed2/routes.txt", 3) and "more than once" in p.message


def test_a_stops_file_with_a_header_only_is_named(tmp_path):
    feed = write_feed(tmp_path / "feed", stops="stop_id")
    assert "stops.txt: the file has no stops" in str(refused(feed))
