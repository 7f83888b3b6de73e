"""Scenario variants without copied files: `extends`, network `changes` by id, `--set` into both,
errors placed where the faulty value was written, and a variant that runs exactly like the
hand-copied network it stands for."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
import yaml

import toynet as T
from sim.api import run
from sim.errors import UserError
from sim.io import manifest
from sim.scenario import load_scenario
from toy_text import NET, SCN


def line_of(text: str, needle: str) -> int:
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert hits, f"{needle!r} not in text"
    return hits[0]


@pytest.fixture
def base(tmp_path):
    """The toy network and scenario in tmp_path/base/, variants go to tmp_path/variants/."""
    (tmp_path / "base").mkdir()
    (tmp_path / "variants").mkdir()
    (tmp_path / "base" / "toy_net.yaml").write_text(NET, encoding="utf-8")
    (tmp_path / "base" / "scn.yaml").write_text(SCN, encoding="utf-8")
    return tmp_path


def variant(base, text: str, name: str = "v.yaml"):
    path = base / "variants" / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path, overrides=None):
    with pytest.raises(UserError) as info:
        load_scenario(path, overrides)
    return info.value.problems


def test_extends_inherits_and_overrides_with_paths_relative_to_the_file_that_wrote_them(base):
    path = variant(base, "extends: ../base/scn.yaml\nname: v\ndemand: {total: 50}\n")
    scn = load_scenario(path)
    assert scn.name == "v"
    assert scn.model.demand.total == 50
    assert scn.model.demand.segments[0].payment == {"qr": 0.8, "ticket": 0.2}  # inherited
    assert scn.model.network == "../base/toy_net.yaml"  # rebased to the variant's folder
    assert [s.id for s in scn.network.stations] == list("ABCDEF")
    assert scn.extends == ((base / "base" / "scn.yaml").resolve(),)


def test_extends_chain_and_null_removes_a_field(base):
    variant(base, "extends: ../base/scn.yaml\nname: v1\ndemand: {total: 50}\n", "v1.yaml")
    path = variant(base, "extends: v1.yaml\nname: v2\ndemand: {groups: {ab: null}}\n", "v2.yaml")
    scn = load_scenario(path)
    assert (scn.name, scn.model.demand.total, scn.model.demand.groups) == ("v2", 50, {})
    assert len(scn.extends) == 2


def test_a_variant_adds_changes_and_removes_demand_segments_by_name(base):
    text = """extends: ../base/scn.yaml
name: v
demand:
  segments:
    all: {share: 0.75}
    extra:
      add: true
      share: 0.25
      generator: {origins: {stations: [A]}}
      profile: flat
      payment: {qr: 1.0}
"""
    scn = load_scenario(variant(base, text))
    assert [(s.name, s.share) for s in scn.model.demand.segments] == [("all", 0.75), ("extra", 0.25)]
    assert scn.model.demand.segments[0].payment == {"qr": 0.8, "ticket": 0.2}  # the rest inherited
    removed = load_scenario(variant(base, "extends: v.yaml\nname: w\ndemand: {segments: {all: null, extra: {share: "
                                          "1}}}\n", "w.yaml"))
    assert [s.name for s in removed.model.demand.segments] == ["extra"]
    p = problems_of(variant(base, "extends: ../base/scn.yaml\nname: u\ndemand: {segments: {alll: {share: 2}}}\n",
                            "u.yaml"))[0]
    assert p.path == "demand.segments.alll" and "'all'" in p.message  # a mistyped name, the nearest named
    # a list still replaces the parent's whole list
    listed = load_scenario(variant(base, "extends: ../base/scn.yaml\nname: l\ndemand: {segments: [{name: only, "
                                         "share: 1, generator: {}, profile: flat, payment: {qr: 1.0}}]}\n", "l.yaml"))
    assert [s.name for s in listed.model.demand.segments] == ["only"]


def test_extends_errors(base):
    p = problems_of(variant(base, "extends: nowhere.yaml\nname: v\n"))[0]
    assert (p.path, p.line) == ("extends", 1) and "not found" in p.message
    variant(base, "extends: b.yaml\nname: a\n", "a.yaml")
    p = problems_of(variant(base, "extends: a.yaml\nname: b\n", "b.yaml"))[0]
    assert "extends cycle" in p.message


def test_a_mistake_is_placed_in_the_file_that_wrote_it(base):
    # the parent's value is fine; the child's value is wrong -> the child's file and line
    text = "extends: ../base/scn.yaml\nname: v\ndemand:\n  total: -4\n"
    p = problems_of(variant(base, text))[0]
    assert (p.file, p.path, p.line) == (str(base / "variants" / "v.yaml"), "demand.total", 4)
    # a mistake left in the parent -> the parent's file and line
    bad = SCN.replace("seed: 1", "seed: -1")
    (base / "base" / "scn.yaml").write_text(bad, encoding="utf-8")
    p = problems_of(variant(base, "extends: ../base/scn.yaml\nname: v\n"))[0]
    assert (p.file, p.path, p.line) == (str(base / "base" / "scn.yaml"), "seed", line_of(bad, "seed: -1"))


CHANGES = """\
extends: ../base/scn.yaml
name: v
changes:
  operators:
    OP: {fare: {base_cny: 2}}
  lines:
    L1:
      capacity: 900
      patterns:
        branch: null
        trunk:
          timetable:
            forward: {headways: [{from: "06:00", headway_s: 600}]}
        short:
          add: true
          stops: [A, C]
          timetable:
            forward: {first: "06:01", last: "09:00", headways: [{from: "06:00", headway_s: 900}]}
"""


def test_changes_edit_add_and_remove_network_items_by_id(base):
    scn = load_scenario(variant(base, CHANGES))
    net = scn.network
    assert [p.id for p in net.patterns] == ["L1.trunk.forward", "L1.trunk.backward", "L1.short.forward"]
    fwd = net.patterns[0]
    assert fwd.departures[:3] == (6 * 3600.0, 6 * 3600.0 + 600, 6 * 3600.0 + 1200)
    assert net.patterns[1].departures[1] - net.patterns[1].departures[0] == 300.0  # backward unchanged
    assert {p.capacity for p in net.patterns} == {900}
    assert net.operators[0].fare.base_cny == 2
    assert net.operators[0].fare.base_km == 6  # merged field by field
    resolved = scn.resolved_network()
    assert [p["id"] for p in resolved["lines"][0]["patterns"]] == ["trunk", "short"]
    assert resolved["lines"][0]["capacity"] == 900


def test_a_mistake_in_a_change_names_the_scenario_file_line_and_field(base):
    text = CHANGES.replace("capacity: 900", "capacity: -5").replace("headway_s: 900", "headway_s: 0")
    problems = problems_of(variant(base, text))
    where = {(p.file, p.path, p.line) for p in problems}
    v = str(base / "variants" / "v.yaml")
    assert where == {(v, "changes.lines.L1.capacity", line_of(text, "capacity: -5")),
                     (v, "changes.lines.L1.patterns.short.timetable.forward.headways[0].headway_s",
                      line_of(text, "headway_s: 0"))}


def test_removing_or_renaming_what_is_not_there(base):
    text = "extends: ../base/scn.yaml\nname: v\nchanges:\n  lines:\n    L9: null\n    L1:\n      patterns: {nope: null}\n"
    problems = problems_of(variant(base, text))
    assert {(p.path, p.line) for p in problems} == {("changes.lines.L9", 5), ("changes.lines.L1.patterns.nope", 7)}
    text = "extends: ../base/scn.yaml\nname: v\nchanges:\n  lines:\n    L1: {id: L2}\n"
    p = problems_of(variant(base, text))[0]
    assert p.path == "changes.lines.L1.id" and "cannot be changed" in p.message


def test_set_reaches_network_changes(base):
    path = variant(base, "extends: ../base/scn.yaml\nname: v\n")
    scn = load_scenario(path, {"changes.lines.L1.capacity": 77, "changes.lines.L1.patterns.branch": None})
    assert {p.capacity for p in scn.network.patterns} == {77}
    assert {p.id.split(".")[1] for p in scn.network.patterns} == {"trunk"}
    p = problems_of(path, {"changes.lines.L1.capacity": -1})[0]
    assert (p.file, p.path, p.line) == ("--set changes.lines.L1.capacity", "changes.lines.L1.capacity", None)


def test_a_variant_runs_exactly_like_the_hand_copied_network(tmp_path):
    net = T.boundary_network(fare_rule={"id": "f", "operators": ["OA", "OB"], "policy": "separate",
                                        "through_tariff": "OA"},
                             coordination={"id": "c", "feeders": ["LA.all.forward"], "receiver": "LB.all.forward",
                                           "from": "A2", "to": "B1", "window": {"start": "06:00", "end": "09:00"}})
    scn = T.scenario(800, ["A1"], ["B2"], start="06:00", end="08:00", sim_end="10:00",
                     payment={"qr": 0.5, "ticket": 0.5})
    T.write(tmp_path / "base", net, scn)
    changes = {
        "interchanges": {"ab": {"policy": {"security": "rescreen", "seamless_media": []}}},
        "fare_integration": {"f": {"policy": "through"}},
        "coordination": {"c": {"mode": "coordinated"}},
        "lines": {"LB": {"capacity": 40, "patterns": {"all": {"timetable": {"forward": {
            "headways": [{"from": "06:00", "headway_s": 240}]}}}}}},
    }
    (tmp_path / "variant.yaml").write_text(yaml.safe_dump(
        {"extends": "base/scn.yaml", "name": "toy", "changes": changes}, sort_keys=False), encoding="utf-8")
    by_hand = copy.deepcopy(net)
    by_hand["interchanges"][0]["policy"] = {"security": "rescreen", "seamless_media": []}
    by_hand["fare_integration"][0]["policy"] = "through"
    by_hand["coordination"][0]["mode"] = "coordinated"
    by_hand["lines"][1]["capacity"] = 40
    by_hand["lines"][1]["patterns"][0]["timetable"]["forward"]["headways"] = [{"from": "06:00", "headway_s": 240}]
    copied = T.write(tmp_path / "copied", by_hand, scn)
    a, b = run(load_scenario(tmp_path / "variant.yaml")), run(copied)
    for name in ("trips", "legs", "trains", "facilities", "fares"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.summary == b.summary
    assert (a.trains["capacity"][a.trains["line"] == "LB"] == 40).all()


def test_manifest_records_the_resolved_network_and_the_parents(base):
    scn = load_scenario(variant(base, CHANGES.replace("demand: {total: 50}", "")), {"demand.total": 30})
    res = run(scn)
    m = json.loads(json.dumps(manifest(res, ["run"], 1.0, scn.network_files)))
    assert m["extends"] == [str((base / "base" / "scn.yaml").resolve())]
    assert m["overrides"] == {"demand.total": 30}
    line = m["network"]["lines"][0]
    assert line["capacity"] == 900 and [p["id"] for p in line["patterns"]] == ["trunk", "short"]
    assert m["scenario"]["changes"]["lines"]["L1"]["capacity"] == 900


@pytest.mark.parametrize("key, value, where, names", [
    ("changes.lines.L2.capacity", 900, "changes.lines.L2", "did you mean 'L1'?"),
    ("changes.stations.Bx.lat", 31.0, "changes.stations.Bx", "did you mean 'B'"),
    ("changes.lines.L1.patterns.trnk.capacity", 900, "changes.lines.L1.patterns.trnk", "did you mean 'trunk'?"),
    ("changes.lines.L1.capacty", 900, "changes.lines.L1.capacty", "did you mean 'capacity'?"),
    ("demand.totl", 5, "demand.totl", "did you mean 'total'?"),
])
def test_a_mistyped_id_or_field_names_the_nearest_and_adds_nothing(base, key, value, where, names):
    path = variant(base, "extends: ../base/scn.yaml\nname: v\n")
    (p,) = problems_of(path, {key: value})
    assert p.path == where and names in p.message, p
    if key.startswith("changes") and "capacty" not in key:
        assert "to add a new item, give it `add: true`" in p.message


def test_adding_an_item_needs_the_marker_and_only_for_a_new_id(base):
    path = variant(base, "extends: ../base/scn.yaml\nname: v\nchanges:\n  lines:\n    L1: {add: true, capacity: 5}\n")
    (p,) = problems_of(path)
    assert p.path == "changes.lines.L1.add" and "exists already" in p.message
