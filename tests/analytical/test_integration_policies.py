"""The interconnection switches against exact or theoretical values: security trust and ticket
recognition remove exactly their steps from a transfer; coordinated timetables cut the transfer wait
to the target slack; a part-day service gets its logit share while it runs; informed commuters wait
what theory gives; and both engines agree with every switch on.

Every test is seeded; tolerances come from the sample size, never from reruns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import toynet as T
from sim.api import run

TRANSFER_FACILITIES = ("A2.transfer_exit_gates", "B1.ticket_machines", "B1.transfer_security",
                       "B1.transfer_entry_gates")


def crossing_scenario(total: int = 3000, **extra) -> dict:
    return T.scenario(total, ["A1"], ["B2"], start="06:00", end="09:00", sim_end="11:00",
                      payment={"qr": 0.5, "ticket": 0.5}, **extra)


def transfer_sojourn(res) -> pd.Series:
    """Per commuter: time spent (queue + service) at the interchange's facilities."""
    fac = res.facilities[res.facilities["facility_id"].astype(str).isin(TRANSFER_FACILITIES)]
    return (fac["t_end"] - fac["t_join"]).groupby(fac["commuter_id"]).sum()


def run_policy(tmp_path, name: str, policy: dict, **net_extra):
    return run(T.write(tmp_path / name, T.boundary_network(policy=policy, **net_extra), crossing_scenario()))


def test_security_trust_removes_exactly_the_security_time_and_queue(tmp_path):
    trust = run_policy(tmp_path, "trust", {"security": "trust", "seamless_media": ["qr"]})
    rescreen = run_policy(tmp_path, "rescreen", {"security": "rescreen", "seamless_media": ["qr"]})
    fac = rescreen.facilities
    sec = fac[fac["facility_id"].astype(str) == "B1.transfer_security"].set_index("commuter_id")
    assert len(sec) == 3000  # every commuter is screened, whatever the medium
    assert (sec["t_start"] > sec["t_join"]).any()  # with a queue
    assert not (trust.facilities["facility_id"].astype(str) == "B1.transfer_security").any()
    diff = rescreen.trips.set_index("commuter_id")["transfer_s"] - trust.trips.set_index("commuter_id")["transfer_s"]
    np.testing.assert_allclose(diff.to_numpy(), (sec["t_end"] - sec["t_join"]).reindex(diff.index).to_numpy(),
                               rtol=0, atol=1e-9)


@pytest.mark.parametrize("seamless, skipped_s", [
    (["qr"], {"qr": 0.0, "ticket": 2.5 + 20.0 + 3.5}),   # qr crosses; tickets exit, buy a ticket, re-enter
    ([], {"qr": 2.5 + 3.5, "ticket": 2.5 + 20.0 + 3.5}),  # everyone exits and re-enters
])
def test_seamless_media_skip_exactly_the_gates_and_ticket_machine(tmp_path, seamless, skipped_s):
    everyone = run_policy(tmp_path, "all", {"security": "trust", "seamless_media": "all"})
    some = run_policy(tmp_path, "some", {"security": "trust", "seamless_media": seamless})
    a, b = everyone.trips.set_index("commuter_id"), some.trips.set_index("commuter_id")
    diff = b["transfer_s"] - a["transfer_s"]
    expected = b["payment"].astype(str).map(skipped_s).astype(float)
    np.testing.assert_allclose(diff.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)
    # and the difference is what the skipped facilities took (no queues at these gates and machines)
    sojourn = transfer_sojourn(some).reindex(b.index, fill_value=0.0)
    np.testing.assert_allclose(diff.to_numpy(), sojourn.to_numpy(), rtol=0, atol=1e-9)
    assert transfer_sojourn(everyone).sum() == 0.0


def test_coordination_cuts_the_transfer_wait_to_the_slack_with_equal_headways(tmp_path):
    # LA arrives at A2 at 06:06:40 + k*600; passengers reach LB's platform 100 s later (08:20 + k*10 min).
    # LB leaves B1 at 03:20 + k*10 min: independent timetables make them wait exactly H/2 = 300 s.
    a_tt = {"forward": T.headway("06:00", "10:00", 600)}
    b_tt = {"forward": T.headway("05:53:20", "11:00", 600)}
    rule = {"id": "c", "mode": "independent", "feeders": ["LA.all.forward"], "receiver": "LB.all.forward",
            "from": "A2", "to": "B1", "window": {"start": "06:00", "end": "10:00"}, "target_slack_s": 60}
    policy = {"security": "trust", "seamless_media": "all"}
    out = {}
    for mode in ("independent", "coordinated"):
        net = T.boundary_network(policy=policy, a_timetable=a_tt, b_timetable=b_tt, coordination={**rule, "mode": mode})
        res = run(T.write(tmp_path / mode, net, crossing_scenario(2000)))
        onward = res.legs[res.legs["leg"] == 1]
        out[mode] = ((onward["t_board"] - onward["t_platform"]).to_numpy(), res.summary["policies"]["coordination"]["c"])
    wait, info = out["independent"]
    np.testing.assert_allclose(wait, 300.0, rtol=0, atol=1e-9)
    assert (info["offset_s"], info["planned_wait_s"]) == (0.0, 300.0)
    wait, info = out["coordinated"]
    np.testing.assert_allclose(wait, 60.0, rtol=0, atol=1e-9)
    assert info["offset_s"] == 360.0
    assert (info["planned_wait_independent_s"], info["planned_wait_s"]) == (300.0, 60.0)


def parallel_network(p_tt: dict, q_tt: dict, run_p: float = 600.0, run_q: float = 600.0) -> dict:
    """Two lines P and Q from X to Y (separate platforms: two routes), no station facilities."""
    stops = [("X", 0.0), ("Y", 5.0)]
    return T.network([T.station("X", 121.0), T.station("Y", 121.05)],
                     [T.line("P", stops, p_tt, run_s={"X>Y": run_p}, capacity=100000),
                      T.line("Q", stops, q_tt, run_s={"X>Y": run_q}, capacity=100000)])


def test_part_day_service_gets_its_logit_share_while_it_runs(tmp_path):
    # P runs all morning; Q, 60 s faster, only 07:00-08:00. Same 5-min headways: where both run, only
    # the run time differs, so Q's share is 1 / (1 + exp(-theta * 1 min)) (theta = 0.3 per min).
    net = parallel_network({"forward": T.headway("05:30", "11:00", 300)}, {"forward": T.headway("07:00", "08:00", 300)},
                           run_q=540.0)
    scn = T.scenario(30000, ["X"], ["Y"], start="06:00", end="09:00", routing={"logit_scale_per_min": 0.3})
    trips = run(T.write(tmp_path, net, scn)).trips
    on_q = trips["route"].astype(str) == "Q"
    t = trips["t_depart"].to_numpy()

    def share(lo: str, hi: str) -> tuple[float, int]:
        sel = (t >= T_(lo)) & (t < T_(hi))
        return float(on_q[sel].mean()), int(sel.sum())

    p_runs = 1 / (1 + math.exp(-0.3))
    got, n = share("07:00", "08:00")
    assert abs(got - p_runs) < 4 * math.sqrt(p_runs * (1 - p_runs) / n), (got, p_runs)
    # in the quarter hour before 07:00 commuters expect to wait 450 s for Q against 150 s for P:
    # cost difference 2 x 300 - 60 = 540 s = 9 min
    p_before = 1 / (1 + math.exp(0.3 * 9))
    got, n = share("06:45", "07:00")
    assert abs(got - p_before) < 4 * math.sqrt(p_before * (1 - p_before) / n) + 1 / n, (got, p_before)
    assert share("08:15", "09:00")[0] == 0.0  # Q no longer runs
    assert share("06:00", "06:30")[0] < 0.01


def T_(hhmm: str) -> float:
    h, m = hhmm.split(":")
    return int(h) * 3600.0 + int(m) * 60.0


def _cycle_departures(offsets_s: list[int], start: str = "06:00", end: str = "10:00", cycle_s: int = 900) -> list[str]:
    out = []
    for t in range(int(T_(start)), int(T_(end)), cycle_s):
        for off in offsets_s:
            s = t + off
            out.append(f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}")
    return out


def test_real_time_information_cuts_the_wait_by_what_theory_gives(tmp_path):
    # Irregular departures on two parallel lines with equal run times; every 15 min P leaves at +0 and
    # +5 min, Q at +7.5 and +12.5 min. Expected waits are equal (250 s) in every quarter hour, so
    # uninformed commuters split evenly and wait 250 s on average; informed ones see the next departures.
    p_off, q_off = [0, 300], [450, 750]
    net = parallel_network({"forward": {"departures": _cycle_departures(p_off)}},
                           {"forward": {"departures": _cycle_departures(q_off)}})
    theta_per_min, ww = 2.0, 2.0
    routing = {"logit_scale_per_min": theta_per_min, "wait_weight": ww}
    waits = {}
    for info in ("expected", "real_time"):
        scn = T.scenario(20000, ["X"], ["Y"], start="06:00", end="09:00",
                         routing={**routing, "information": info})
        res = run(T.write(tmp_path / info, net, scn))
        waits[info] = res.trips["wait_s"].to_numpy()
    # theory, on a fine grid over one 15-min cycle (arrivals are uniform)
    u = (np.arange(900 * 20) + 0.5) / 20

    def next_wait(offsets):
        deps = np.asarray(offsets + [offsets[0] + 900], dtype=float)
        return deps[np.searchsorted(deps, u)] - u

    wp, wq = next_wait(p_off), next_wait(q_off)
    p_p = 1 / (1 + np.exp(-theta_per_min / 60 * ww * (wq - wp)))
    informed = float((p_p * wp + (1 - p_p) * wq).mean())
    uninformed = float((wp.mean() + wq.mean()) / 2)
    assert uninformed == pytest.approx(250.0)
    assert informed < 150.0  # close to the 125 s of always taking the first train
    for info, theory in (("expected", uninformed), ("real_time", informed)):
        w = waits[info]
        se = w.std(ddof=1) / math.sqrt(len(w))
        assert abs(w.mean() - theory) < 4 * se, (info, w.mean(), theory, se)


def test_engines_agree_with_every_switch_on(tmp_path):
    rule = {"id": "c", "mode": "coordinated", "feeders": ["LA.all.forward"], "receiver": "LB.all.forward",
            "from": "A2", "to": "B1", "window": {"start": "06:00", "end": "10:00"}, "target_slack_s": 45}
    fare_rule = {"id": "f", "operators": ["OA", "OB"], "policy": "discount", "discount_cny": 1.0,
                 "clearing": "standalone_share"}
    net = T.boundary_network(policy={"security": "rescreen", "seamless_media": ["qr"]}, fare_rule=fare_rule,
                             coordination=rule, security={"kind": "security", "servers": 2,
                                                          "service": {"dist": "lognormal", "mean_s": 6.0, "cv": 0.8}})
    for info in ("expected", "real_time"):
        scn = T.write(tmp_path / info, net, crossing_scenario(1500, routing={"information": info}))
        bulk, ref = run(scn, engine="bulk"), run(scn, engine="reference")
        for name in ("trips", "legs", "trains", "facilities", "fares"):
            pd.testing.assert_frame_equal(getattr(bulk, name), getattr(ref, name), check_exact=True)
        assert bulk.summary["fare_revenue_cny"]["OA"] + bulk.summary["fare_revenue_cny"]["OB"] == pytest.approx(
            bulk.trips["fare_cny"].sum(), abs=1e-6)


def test_coordination_by_simulation_keeps_the_candidate_with_the_least_generalised_cost(tmp_path):
    # the equal-headway case above: LB is shifted by each candidate, every run with the same commuters;
    # the search must keep exactly the candidate whose separate run has the least objective
    from sim.offsets import outcome
    from sim.scenario import load_scenario

    a_tt = {"forward": T.headway("06:00", "10:00", 600)}
    b_tt = {"forward": T.headway("05:53:20", "11:00", 600)}
    candidates = [0.0, 120.0, 360.0, 480.0]
    rule = {"id": "c", "mode": "coordinated", "method": "simulation", "candidates_s": candidates,
            "feeders": ["LA.all.forward"], "receiver": "LB.all.forward", "from": "A2", "to": "B1",
            "window": {"start": "06:00", "end": "10:00"}, "target_slack_s": 60}
    policy = {"security": "trust", "seamless_media": "all"}
    net = T.boundary_network(policy=policy, a_timetable=a_tt, b_timetable=b_tt, coordination=rule)
    scn = T.write(tmp_path / "search", net, crossing_scenario(600))
    chosen = run(scn)
    info = chosen.summary["policies"]["coordination"]["c"]
    separately = {}
    for offset in candidates:  # the same scenario with the offset fixed by hand, run on its own
        fixed = load_scenario(tmp_path / "search" / "scn.yaml", {"changes.coordination.c.offset_s": offset})
        res = run(fixed)
        separately[offset] = outcome(res.trips, res.legs, {"LB"}, fixed.model.routing, None, fixed.t_end)["objective_s"]
        assert res.summary["policies"]["coordination"]["c"]["method"] == "fixed"
    assert [c["objective_s"] for c in info["candidates"]] == [separately[o] for o in candidates]
    best = min(candidates, key=lambda o: (separately[o], o))
    assert info["method"] == "simulation" and info["chosen_offset_s"] == best == info["offset_s"] == 360.0
    assert len(set(separately.values())) > 1  # the candidates differ: the choice is not a tie
    onward = chosen.legs[chosen.legs["leg"] == 1]
    np.testing.assert_allclose((onward["t_board"] - onward["t_platform"]).to_numpy(), 60.0, rtol=0, atol=1e-9)
