"""User errors in network and scenario files: every mistake gives a UserError whose problems name the
file, the field path and the line, and all problems are reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.api import check_scenario
from sim.demand import generate_demand
from sim.errors import Problem, UserError
from sim.loading import parse_set_arguments, parse_yaml_text, read_yaml
from sim.overlay import apply_overrides
from sim.scenario import load_network, load_scenario
from toy_text import EXTRA_STATIONS, LINE_2, NET, SCN


def with_interchange(steps: str, bidirectional: bool = True) -> str:
    text = replace_once(NET, "lines:\n", EXTRA_STATIONS + "lines:\n") + LINE_2
    text += "interchanges:\n  - id: b_g\n    stations: [B, G]\n"
    if not bidirectional:
        text += "    bidirectional: false\n"
    text += "    paths:\n      - name: corridor\n        steps: " + steps + "\n"
    return text


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"fixture text {old!r} must occur exactly once"
    return text.replace(old, new)


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """1-based number of the line holding the nth occurrence of `needle`."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) > nth, f"{needle!r} not in text"
    return hits[nth]


def net_problems(tmp_path: Path, text: str, extra: dict[str, str] | None = None,
                 name: str = "net.yaml") -> list[Problem]:
    """Problems from loading and building the network `text` (written to tmp_path/name)."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    for fname, content in (extra or {}).items():
        (tmp_path / fname).write_text(content, encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_network(tmp_path / name)
    assert info.value.problems, "a UserError must carry at least one problem"
    return info.value.problems


def scn_problems(tmp_path: Path, text: str, net_text: str = NET, extra: dict[str, str] | None = None,
                 overrides: dict | None = None) -> list[Problem]:
    """Problems from loading a scenario and cross-checking its demand (as `validate` does)."""
    (tmp_path / "toy_net.yaml").write_text(net_text, encoding="utf-8")
    (tmp_path / "scn.yaml").write_text(text, encoding="utf-8")
    for fname, content in (extra or {}).items():
        (tmp_path / fname).write_text(content, encoding="utf-8")
    path = tmp_path / "scn.yaml"
    with pytest.raises(UserError) as info:
        check_scenario(load_scenario(path, overrides))
    assert info.value.problems
    return info.value.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "expected exactly one problem, got:\n" + "\n".join(map(str, problems))
    return problems[0]


# --------------------------------------------------------------------------------------------------
# The fixtures themselves are valid


def test_fixture_network_and_scenario_are_valid(tmp_path):
    (tmp_path / "toy_net.yaml").write_text(NET, encoding="utf-8")
    (tmp_path / "scn.yaml").write_text(SCN, encoding="utf-8")
    scn = load_scenario(tmp_path / "scn.yaml")
    assert [s.id for s in scn.network.stations] == list("ABCDEF")
    demand = generate_demand(scn.model.demand, scn.model.period, scn.network, scn.base_dir, 0, 0)
    assert demand.size == 1000


# --------------------------------------------------------------------------------------------------
# Schema errors (network file)


def test_unknown_field(tmp_path):
    text = replace_once(NET, "    capacity: 1000\n", "    capacity: 1000\n    colour: red\n")
    p = only(net_problems(tmp_path, text))
    assert p.file == str(tmp_path / "net.yaml")
    assert p.path == "lines[0].colour"
    assert p.line == line_of(text, "colour: red")
    assert "unknown field" in p.message


def test_missing_required_field(tmp_path):
    text = replace_once(NET, "    capacity: 1000\n", "")
    p = only(net_problems(tmp_path, text))
    assert p.file == str(tmp_path / "net.yaml")
    assert p.path == "lines[0].capacity"
    assert p.line == line_of(text, "- id: L1")  # the line item that lacks the field
    assert "missing" in p.message


def test_wrong_type(tmp_path):
    text = replace_once(NET, "    capacity: 1000\n", "    capacity: lots\n")
    p = only(net_problems(tmp_path, text))
    assert (p.path, p.line) == ("lines[0].capacity", line_of(text, "capacity: lots"))
    assert "integer" in p.message and "lots" in p.message


def test_negative_capacity(tmp_path):
    text = replace_once(NET, "    capacity: 1000\n", "    capacity: -5\n")
    p = only(net_problems(tmp_path, text))
    assert p.file == str(tmp_path / "net.yaml")
    assert (p.path, p.line) == ("lines[0].capacity", line_of(text, "capacity: -5"))
    assert "greater than or equal to 1" in p.message and "-5" in p.message


def test_duplicate_yaml_key_is_detected(tmp_path):
    text = replace_once(NET, "    capacity: 1000\n", "    capacity: 1000\n    capacity: 900\n")
    p = only(net_problems(tmp_path, text))
    assert p.file == str(tmp_path / "net.yaml")
    assert p.line == line_of(text, "capacity: 900")
    assert p.path.endswith("capacity")
    assert "duplicate key" in p.message
    assert f"line {line_of(text, 'capacity: 1000')}" in p.message  # where it was first given


def test_duplicate_yaml_key_names_full_field_path(tmp_path):
    text = replace_once(NET, "    capacity: 1000\n", "    capacity: 1000\n    capacity: 900\n")
    assert only(net_problems(tmp_path, text)).path == "lines[0].capacity"


def test_duplicate_key_at_top_level(tmp_path):
    text = NET + "media:\n  qr: {name: x}\n"
    p = only(net_problems(tmp_path, text))
    assert (p.path, p.line) == ("media", line_of(text, "media:", 1))
    assert f"first given on line {line_of(text, 'media:')}" in p.message


# --------------------------------------------------------------------------------------------------
# Cross-reference errors (network building)


def test_unknown_station_in_line_branch(tmp_path):
    text = replace_once(NET, "[E, 6.5]", "[Q, 6.5]")
    p = only(net_problems(tmp_path, text))
    assert p.file == str(tmp_path / "net.yaml")
    assert p.path == "lines[0].branches.branch[1]"
    assert p.line == line_of(text, "[Q, 6.5]")
    assert "unknown station 'Q'" in p.message


def test_unknown_operator_of_line(tmp_path):
    text = replace_once(NET, "    operator: OP\n    name: Line 1", "    operator: XX\n    name: Line 1")
    p = only(net_problems(tmp_path, text))
    assert (p.path, p.line) == ("lines[0].operator", line_of(text, "operator: XX"))
    assert "unknown operator 'XX' (known: OP)" in p.message


def test_an_unknown_id_names_the_nearest_known_ones_or_some_of_them():
    from sim.errors import unknown

    stations = ["sh_caoyang_road", "sh_fengqiao_road", "sh_zhenru", "sh_jiangsu_road"]
    assert unknown("station", "sh_fengqiao", stations) == "unknown station 'sh_fengqiao' (nearest: sh_fengqiao_road)"
    many = [f"s{k:02d}" for k in range(20)]
    assert unknown("station", "zzz", many) == ("unknown station 'zzz' (known: s00, s01, s02, s03, s04, s05, s06, s07, "
                                               "... (20 in all))")
    assert unknown("line", "L", []) == "unknown line 'L' (there are none)"


def test_unknown_operator_of_station(tmp_path):
    text = replace_once(NET, "{id: B, operator: OP", "{id: B, operator: XX")
    p = only(net_problems(tmp_path, text))
    assert (p.path, p.line) == ("stations[1].operator", line_of(text, "{id: B, operator: XX"))
    assert "unknown operator 'XX'" in p.message


def test_pattern_stop_not_on_line(tmp_path):
    text = replace_once(NET, "stops: [A, D]", "stops: [A, Q]")
    p = only(net_problems(tmp_path, text))
    assert (p.path, p.line) == ("lines[0].patterns[0].stops[1]", line_of(text, "stops: [A, Q]"))
    assert "'Q'" in p.message and "not a station of this line" in p.message


def test_skip_of_a_terminus(tmp_path):
    text = replace_once(NET, "stops: [A, D]\n", "stops: [A, D]\n        skip: [D]\n")
    p = only(net_problems(tmp_path, text))
    assert (p.path, p.line) == ("lines[0].patterns[0].skip[0]", line_of(text, "skip: [D]"))
    assert "'D'" in p.message and "intermediate" in p.message


def test_skip_of_a_station_off_the_pattern(tmp_path):
    text = replace_once(NET, "stops: [A, D]\n", "stops: [A, D]\n        skip: [E]\n")
    p = only(net_problems(tmp_path, text))
    assert p.path == "lines[0].patterns[0].skip[0]"


def test_non_monotonic_km_along_pattern(tmp_path):
    text = replace_once(NET, "[C, 4.0], [D, 6.0]", "[C, 4.0], [D, 3.0]")
    p = only(net_problems(tmp_path, text))
    assert (p.path, p.line) == ("lines[0].patterns[0].stops", line_of(text, "stops: [A, D]"))
    assert "strictly increase or decrease" in p.message


def test_timetable_with_departures_and_headways(tmp_path):
    old = 'forward: {first: "06:00", last: "10:00", headways: [{from: "06:00", headway_s: 300}]}'
    new = old[:-1] + ', departures: ["06:00", "06:30"]}'
    text = NET.replace(old, new, 1)
    p = only(net_problems(tmp_path, text))
    assert p.path == "lines[0].patterns[0].timetable.forward"
    assert p.line == line_of(text, "departures:")
    assert "either 'departures' or" in p.message


def test_unknown_facility_in_station_entry(tmp_path):
    text = replace_once(NET, "name_en: B, lat: 31.0, lon: 121.02}",
                        "name_en: B, lat: 31.0, lon: 121.02, entry: [securty, entry_gates]}")
    p = only(net_problems(tmp_path, text))
    assert (p.path, p.line) == ("stations[1].entry[0]", line_of(text, "securty"))
    assert "unknown facility 'securty'" in p.message and "station 'B'" in p.message
    assert "security" in p.message.split("known:")[1]  # lists what is known


def test_unknown_facility_in_interchange_path(tmp_path):
    text = with_interchange("[{walk_s: 60}, from.exit_gatez, to.entry_gates]")
    problems = net_problems(tmp_path, text)
    # one distinct problem (it may be repeated once per direction of the bidirectional interchange)
    assert {(p.file, p.path, p.line) for p in problems} == {
        (str(tmp_path / "net.yaml"), "interchanges[0].paths[0].steps[1]", line_of(text, "from.exit_gatez"))}
    assert all("unknown facility 'from.exit_gatez'" in p.message for p in problems)


def test_unknown_station_in_interchange_facility_reference(tmp_path):
    text = with_interchange("[{walk_s: 60}, from.exit_gates, Q.entry_gates]")
    problems = net_problems(tmp_path, text)
    assert {p.path for p in problems} == {"interchanges[0].paths[0].steps[2]"}
    assert all("Q.entry_gates" in p.message for p in problems)


def test_interchange_fixture_is_valid(tmp_path):
    (tmp_path / "net.yaml").write_text(with_interchange("[{walk_s: 60}, from.exit_gates, to.entry_gates]"),
                                       encoding="utf-8")
    net, _ = load_network(tmp_path / "net.yaml")
    assert (net.station_index["B"], net.station_index["G"]) in net.transfers
    assert (net.station_index["G"], net.station_index["B"]) in net.transfers


def test_facility_cycle_in_interchange_paths(tmp_path):
    # The same gate bank kind passed as from.entry_gates then to.entry_gates, in both directions:
    # B.entry_gates -> G.entry_gates and G.entry_gates -> B.entry_gates form a cycle.
    text = with_interchange("[from.entry_gates, {walk_s: 30}, to.entry_gates]")
    p = only(net_problems(tmp_path, text))
    assert p.file == str(tmp_path / "net.yaml")
    assert p.path.startswith("interchanges")
    assert "cycle" in p.message
    assert "B.entry_gates" in p.message and "G.entry_gates" in p.message


def test_same_path_one_direction_only_is_no_cycle(tmp_path):
    (tmp_path / "net.yaml").write_text(
        with_interchange("[from.entry_gates, {walk_s: 30}, to.entry_gates]", bidirectional=False), encoding="utf-8")
    net, _ = load_network(tmp_path / "net.yaml")
    assert len(net.transfers) == 1


def test_unknown_medium_in_media_factor(tmp_path):
    text = replace_once(NET, "      base_km: 6\n", "      base_km: 6\n      media_factor: {card: 0.9}\n")
    p = only(net_problems(tmp_path, text))
    assert (p.path, p.line) == ("operators[0].fare.media_factor", line_of(text, "media_factor"))
    assert "unknown medium 'card'" in p.message


def test_unknown_medium_in_interchange_path(tmp_path):
    text = with_interchange("[{walk_s: 60}]").replace("      - name: corridor\n",
                                                       "      - name: corridor\n        media: [qr, card]\n")
    p = only(net_problems(tmp_path, text))
    assert (p.path, p.line) == ("interchanges[0].paths[0].media", line_of(text, "media: [qr, card]"))
    assert "unknown medium 'card'" in p.message


# --------------------------------------------------------------------------------------------------
# Includes


def _with_include(text: str) -> str:
    return replace_once(text, "name: toy\n", "name: toy\ninclude: [more.yaml]\n")


def test_duplicate_station_id_across_included_files(tmp_path):
    more = ("schema_version: 1\nstations:\n"
            "  - {id: X, operator: OP, name_zh: 戌, name_en: X, lat: 31.0, lon: 121.1}\n"
            "  - {id: B, operator: OP, name_zh: 乙, name_en: B, lat: 31.0, lon: 121.02}\n")
    main = _with_include(NET)
    p = only(net_problems(tmp_path, main, {"more.yaml": more}))
    assert p.file == str(tmp_path / "more.yaml")
    assert (p.path, p.line) == ("stations[1].id", line_of(more, "{id: B"))
    assert "duplicate station id 'B'" in p.message
    # the other file, with the line of the first definition
    assert f"{tmp_path / 'net.yaml'}:{line_of(main, '{id: B')}" in p.message


def test_missing_include(tmp_path):
    main = _with_include(NET)
    p = only(net_problems(tmp_path, main))
    assert p.file == str(tmp_path / "net.yaml")
    assert (p.path, p.line) == ("include[0]", line_of(main, "include: [more.yaml]"))
    assert "'more.yaml' not found" in p.message


def test_include_cycle(tmp_path):
    main = _with_include(NET)
    p = only(net_problems(tmp_path, main, {"more.yaml": "schema_version: 1\ninclude: [net.yaml]\n"}))
    assert p.file == str(tmp_path / "more.yaml")
    assert p.path.startswith("include")
    assert "cycle" in p.message and "net.yaml" in p.message


def test_include_cycle_names_line(tmp_path):
    more = "schema_version: 1\ninclude: [net.yaml]\n"
    p = only(net_problems(tmp_path, _with_include(NET), {"more.yaml": more}))
    assert (p.path, p.line) == ("include[0]", 2)


def test_self_include_is_a_cycle(tmp_path):
    text = replace_once(NET, "name: toy\n", "name: toy\ninclude: [net.yaml]\n")
    p = only(net_problems(tmp_path, text))
    assert "cycle" in p.message


# --------------------------------------------------------------------------------------------------
# Scenario errors


def test_scenario_unknown_profile(tmp_path):
    text = replace_once(SCN, "      profile: flat", "      profile: peak")
    p = only(scn_problems(tmp_path, text))
    assert p.file == str(tmp_path / "scn.yaml")
    assert p.path == "demand.segments[0].profile"
    assert "unknown profile 'peak'" in p.message and "flat" in p.message


def test_scenario_unknown_medium_in_payment(tmp_path):
    text = replace_once(SCN, "payment: {qr: 0.8, ticket: 0.2}", "payment: {qr: 0.8, card: 0.2}")
    p = only(scn_problems(tmp_path, text))
    assert p.file == str(tmp_path / "scn.yaml")
    assert p.path == "demand.segments[0].payment.card"
    assert "unknown medium" in p.message and "qr" in p.message


def test_scenario_unknown_station_in_group_selector(tmp_path):
    text = replace_once(SCN, "from: {stations: [A]}", "from: {stations: [Z]}")
    p = only(scn_problems(tmp_path, text))
    assert p.file == str(tmp_path / "scn.yaml")
    assert p.path == "demand.groups.ab.from.stations[0]"
    assert "unknown station 'Z'" in p.message


def test_scenario_unknown_station_in_generator_selector(tmp_path):
    text = replace_once(SCN, "generator: {}", "generator: {origins: {stations: [A, Z]}}")
    p = only(scn_problems(tmp_path, text))
    assert p.path == "demand.segments[0].generator.origins.stations[1]"
    assert "unknown station 'Z'" in p.message


def test_scenario_profile_outside_period(tmp_path):
    text = replace_once(SCN, '[["06:00", 1], ["09:00", 1]]', '[["05:00", 1], ["09:00", 1]]')
    p = only(scn_problems(tmp_path, text))
    assert (p.file, p.path) == (str(tmp_path / "scn.yaml"), "demand.profiles.flat.points[0]")
    assert "within the period" in p.message


SCENARIO_CROSS_CHECKS = {
    "unknown profile": (("      profile: flat", "      profile: peak"), "      profile: peak"),
    "unknown medium": (("payment: {qr: 0.8, ticket: 0.2}", "payment: {qr: 0.8, card: 0.2}"), "card: 0.2"),
    "unknown station": (("from: {stations: [A]}", "from: {stations: [Z]}"), "stations: [Z]"),
    "profile outside period": (('[["06:00", 1], ["09:00", 1]]', '[["05:00", 1], ["09:00", 1]]'), '"05:00"'),
}


@pytest.mark.parametrize("case", sorted(SCENARIO_CROSS_CHECKS))
def test_scenario_cross_check_problems_name_the_line(tmp_path, case):
    (old, new), needle = SCENARIO_CROSS_CHECKS[case]
    text = replace_once(SCN, old, new)
    p = only(scn_problems(tmp_path, text))
    assert p.line == line_of(text, needle)


def test_scenario_od_table_with_unknown_station(tmp_path):
    csv = "origin,destination,weight\nA,D,1\nB,ZZ,2\nC,F,1\n"
    text = replace_once(SCN, "generator: {}", "od_table: od.csv")
    p = only(scn_problems(tmp_path, text, extra={"od.csv": csv}))
    assert p.file == str(tmp_path / "od.csv")
    assert p.path == "destination"
    assert p.line == 3  # header is line 1; the bad row is the second data row
    assert "unknown station 'ZZ'" in p.message


def test_scenario_od_table_several_bad_rows(tmp_path):
    csv = "origin,destination,weight\nYY,D,1\nB,C,-2\nC,F,1\n"
    text = replace_once(SCN, "generator: {}", "od_table: od.csv")
    problems = scn_problems(tmp_path, text, extra={"od.csv": csv})
    assert {(p.path, p.line) for p in problems} == {("origin", 2), ("weight", 3)}


def test_scenario_network_not_found(tmp_path):
    text = replace_once(SCN, "network: toy_net.yaml", "network: nowhere.yaml")
    p = only(scn_problems(tmp_path, text))
    assert (p.file, p.path, p.line) == (str(tmp_path / "scn.yaml"), "network", line_of(text, "nowhere.yaml"))


# --------------------------------------------------------------------------------------------------
# --set overrides


def test_set_on_missing_path_names_the_argument_and_the_unknown_field(tmp_path):
    p = only(scn_problems(tmp_path, SCN, overrides={"demand.foo.bar": 5}))
    assert (p.file, p.path, p.line) == ("--set demand.foo.bar", "demand.foo", None)
    assert "unknown field" in p.message


def test_set_on_missing_top_level_path(tmp_path):
    p = only(scn_problems(tmp_path, SCN, overrides={"demnd.total": 5}))
    assert (p.file, p.path) == ("--set demnd.total", "demnd")
    assert "unknown field" in p.message


def test_set_of_unknown_leaf_field_is_a_schema_error(tmp_path):
    p = only(scn_problems(tmp_path, SCN, overrides={"demand.totl": 5}))
    assert (p.file, p.path) == ("--set demand.totl", "demand.totl")
    assert "unknown field" in p.message


def test_set_of_bad_value_is_blamed_on_the_argument_not_the_file(tmp_path):
    p = only(scn_problems(tmp_path, SCN, overrides={"demand.total": -3}))
    assert (p.file, p.path, p.line) == ("--set demand.total", "demand.total", None)


def test_set_on_list_item_out_of_range(tmp_path):
    p = only(scn_problems(tmp_path, SCN, overrides={"demand.segments.3.share": 5}))
    assert (p.file, p.path) == ("--set", "demand.segments.3.share")
    assert "'demand.segments[3]' does not exist" in p.message


def test_set_overrides_value_and_list_items():
    data = {"demand": {"total": 1, "segments": [{"share": 1}]}}
    out = apply_overrides(data, {"demand.total": 500, "demand.segments.0.share": 2})
    assert out["demand"]["total"] == 500 and out["demand"]["segments"][0]["share"] == 2
    assert data["demand"]["total"] == 1  # the input is not changed


def test_set_argument_without_equals_sign():
    with pytest.raises(UserError) as info:
        parse_set_arguments(["demand.total"])
    assert only(info.value.problems).file == "--set"


def test_set_values_parse_as_yaml_scalars():
    assert parse_set_arguments(["demand.total=500", "x.y=true", "p.start=06:30"]) == {
        "demand.total": 500, "x.y": True, "p.start": "06:30"}


# --------------------------------------------------------------------------------------------------
# Clock times and numbers in YAML


def test_unquoted_clock_time_is_not_sexagesimal(tmp_path):
    (tmp_path / "t.yaml").write_text("a: 10:00\nb: 1:30:00\nc: 600\nd: 1.5\ne: 1_000.0\n", encoding="utf-8")
    data = read_yaml(tmp_path / "t.yaml").data
    assert data["a"] == "10:00"  # YAML 1.1 would give the integer 600
    assert data["b"] == "1:30:00"  # YAML 1.1 would give 5400
    assert data["c"] == 600 and isinstance(data["c"], int)
    assert data["d"] == 1.5
    assert parse_yaml_text("10:00") == "10:00"


def test_unquoted_clock_times_in_scenario_are_clock_times(tmp_path):
    text = replace_once(SCN, 'period: {start: "06:00", end: "09:00"}', "period: {start: 06:00, end: 10:00}")
    (tmp_path / "toy_net.yaml").write_text(NET, encoding="utf-8")
    (tmp_path / "scn.yaml").write_text(text, encoding="utf-8")
    scn = load_scenario(tmp_path / "scn.yaml")
    assert scn.model.period.start == 6 * 3600.0
    assert scn.model.period.end == 10 * 3600.0


def test_unquoted_clock_time_in_timetable(tmp_path):
    text = NET.replace('last: "10:00"', "last: 10:00")
    (tmp_path / "net.yaml").write_text(text, encoding="utf-8")
    net, _ = load_network(tmp_path / "net.yaml")
    assert max(net.patterns[0].departures) == 10 * 3600.0


# --------------------------------------------------------------------------------------------------
# All problems at once


def test_three_schema_mistakes_give_three_problems(tmp_path):
    text = replace_once(NET, "    capacity: 1000\n", "    capacity: -5\n    colour: red\n")
    text = replace_once(text, "name_en: A, lat: 31.0,", "name_en: A, lat: 95.0,")
    problems = net_problems(tmp_path, text)
    assert len(problems) == 3
    assert {(p.path, p.line) for p in problems} == {
        ("lines[0].capacity", line_of(text, "capacity: -5")),
        ("lines[0].colour", line_of(text, "colour: red")),
        ("stations[0].lat", line_of(text, "lat: 95.0")),
    }


def test_three_reference_mistakes_give_three_problems(tmp_path):
    text = replace_once(NET, "    operator: OP\n    name: Line 1", "    operator: XX\n    name: Line 1")
    text = replace_once(text, "stops: [A, F]", "stops: [A, Q]")
    text = replace_once(text, "{id: B, operator: OP", "{id: B, operator: YY")
    problems = net_problems(tmp_path, text)
    assert len(problems) == 3
    assert {p.path for p in problems} == {"lines[0].operator", "lines[0].patterns[1].stops[1]",
                                          "stations[1].operator"}


def test_two_demand_mistakes_give_two_problems(tmp_path):
    text = replace_once(SCN, "      profile: flat", "      profile: peak")
    text = replace_once(text, "payment: {qr: 0.8, ticket: 0.2}", "payment: {qr: 0.8, card: 0.2}")
    problems = scn_problems(tmp_path, text)
    assert {p.path for p in problems} == {"demand.segments[0].profile", "demand.segments[0].payment.card"}


def test_three_scenario_mistakes_give_three_problems_in_validate(tmp_path, capsys):
    from sim.cli import main

    text = replace_once(SCN, "      profile: flat", "      profile: peak")
    text = replace_once(text, "payment: {qr: 0.8, ticket: 0.2}", "payment: {qr: 0.8, card: 0.2}")
    text = replace_once(text, "from: {stations: [A]}", "from: {stations: [Z]}")
    (tmp_path / "toy_net.yaml").write_text(NET, encoding="utf-8")
    (tmp_path / "scn.yaml").write_text(text, encoding="utf-8")
    assert main(["validate", str(tmp_path / "scn.yaml")]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 3, errors
