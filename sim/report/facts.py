"""What a report states about the run it shows, as HTML sections: what was run (scenario, its
description and file, overrides, seed, replications, engine), the integration policies in force
(summary.json `policies`) and the disruptions (summary.json `disruptions`).

Every text taken from the inputs or the results is escaped (see html.table_html): a name or value
never becomes HTML.
"""

from __future__ import annotations

import html
import json
from typing import Any

from .view import RunInfo, RunView

Section = tuple[str, str]
"""A report section: its heading and its HTML body."""


def esc(value: Any) -> str:
    return html.escape(str(value))


def facts_html(rows: list[tuple[str, str]]) -> str:
    """A two-column table of facts: (label, HTML value already escaped)."""
    body = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{v}</td></tr>' for k, v in rows)
    return f'<table class="facts"><tbody>{body}</tbody></table>'


def plain_table(header: list[str], rows: list[list[Any]]) -> str:
    """A table of plain (escaped) cells, left-aligned like text."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="wide"><table class="text"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def show_value(value: Any) -> str:
    """An override's value as the command line would give it: strings as they are, others as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def overrides_text(overrides: dict[str, Any], limit: int | None = None) -> str:
    """`path=value; ...` (plain text), shortened past `limit` characters."""
    text = "; ".join(f"{k}={show_value(v)}" for k, v in overrides.items())
    return text if limit is None or len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def overrides_html(overrides: dict[str, Any]) -> str:
    if not overrides:
        return "none (the scenario as written)"
    return "<ul>" + "".join(f"<li><code>--set {esc(k)}={esc(show_value(v))}</code></li>"
                            for k, v in overrides.items()) + "</ul>"


def seeds_text(info: RunInfo) -> str:
    """The master seed and the replications it was run with, e.g. "20240301 (replications 0-3)"."""
    seeds = list(dict.fromkeys(info.seeds))
    if not seeds:
        return "unknown (not recorded)"
    reps = sorted(info.replications)
    which = ("" if reps == [0] else f" (replication {reps[0]})" if len(reps) == 1
             else f" (replications {reps[0]}\u2013{reps[-1]})" if reps == list(range(reps[0], reps[-1] + 1))
             else f" (replications {', '.join(map(str, reps))})")
    return ", ".join(str(s) for s in seeds) + which


def variant_title(view: RunView) -> str:
    """The report's title: the run's label, and the overrides when the run is a variant of its
    scenario (`--set`), shortened."""
    given = view.info.overrides
    return view.label + (f" \u2014 variant: --set {overrides_text(given, 90)}" if given else "")


def run_facts(view: RunView) -> Section:
    """What was run: scenario, description, file, overrides, seed, replications, engine, where."""
    info = view.info
    rows = [("scenario", esc(info.scenario or view.label)),
            ("description", esc(info.description) if info.description else "none given"),
            ("scenario file", f"<code>{esc(info.scenario_file)}</code>" if info.scenario_file else "not recorded")]
    if info.extends:
        rows.append(("extends", ", ".join(f"<code>{esc(p)}</code>" for p in info.extends)))
    rows.append(("overrides (--set)", overrides_html(info.overrides)))
    if info.searched:
        rows.append(("set by the offset search", overrides_html(info.searched)))
    warm = view.summary.get("warm_up")
    period = f"{_clock(view.period[0])}\u2013{_clock(view.period[1])}" + (
        f", KPIs from {_clock(warm['until_s'])} (warm-up)" if warm else "")
    rows += [("seed", esc(seeds_text(info))),
             ("replications", "1" if view.replications == 1 else
              f"{view.replications}, pooled: every figure is their mean, every chart draws them all"),
             ("engine", esc(info.engine or "not recorded")), ("commuters start", esc(period))]
    if info.source:
        rows.append(("run directory", f"<code>{esc(info.source)}</code>"))
    return "What was run", facts_html(rows)


def policy_sections(view: RunView) -> list[Section]:
    """The integration policies in force (summary `policies`), one table per kind."""
    pol = view.summary.get("policies")
    if not pol:
        return []
    parts = []
    ics = pol.get("interchanges", {})
    if ics:
        parts.append("<h3>Interchanges</h3>" + plain_table(
            ["interchange", "transfer passengers' security check", "media crossing without leaving the paid area"],
            [[ic, _security(v.get("security")), _media(v.get("seamless_media"))] for ic, v in ics.items()]))
    fares = pol.get("fare_integration", {})
    parts.append("<h3>Fare integration</h3>" + (plain_table(
        ["rule", "operators", "policy", "revenue clearing", f"discount ({view.summary.get('currency', 'CNY')})"],
        [[r, ", ".join(v.get("operators", [])), v.get("policy"), v.get("clearing"), _money(v.get("discount_cny"))]
         for r, v in fares.items()]) if fares else "<p>None: each operator charges its own fare.</p>"))
    parts.append("<h3>Timetable coordination</h3>" + _coordination(view, pol.get("coordination", {})))
    parts.append("<h3>Payment</h3>" + ("<p>Not recorded by this run.</p>" if "payment" not in pol
                                        else _payment(pol["payment"], view.summary.get("currency", "CNY"))))
    return [("Policies in force", "".join(parts))]


def _coordination(view: RunView, rules: dict) -> str:
    if not rules:
        return "<p>None: every line keeps its own timetable.</p>"
    out = plain_table(["rule", "receiving service", "mode", "offset chosen by", "offset (s)",
                       "feeder arrivals", "planned wait without / with the offset (min)"],
                      [[rid, view.service_names.get(r.get("receiver"), r.get("receiver")), r.get("mode"),
                        "simulating candidate offsets" if r.get("method") == "simulation" else "planned wait",
                        _number(r.get("chosen_offset_s", r.get("offset_s")), 0), _number(r.get("feeder_arrivals"), 0),
                        f"{_minutes(r.get('planned_wait_independent_s'))} / {_minutes(r.get('planned_wait_s'))}"]
                       for rid, r in rules.items()])
    for rid, r in rules.items():
        if r.get("method") != "simulation" or not r.get("candidates"):
            continue
        chosen = r.get("chosen_offset_s")
        which = (" in the first replication (each replication searched on its own; the offset above is the mean "
                 "of their choices)" if view.replications > 1 else "")
        out += (f"<p>Offsets of rule {esc(rid)} tried{which}, each on the whole scenario with the same commuters; "
                f"the objective, here in minutes: {esc(r.get('objective', 'not recorded'))}.</p>") + plain_table(
            ["offset (s)", "objective (min)", "onward wait of the transfer (min)", "commuters left behind",
             "travel time (min)", ""],
            [[_number(c.get("offset_s"), 0), _minutes(c.get("objective_s")), _minutes(c.get("onward_wait_mean_s")),
              _number(c.get("denied_commuters"), 0), _minutes(c.get("travel_time_mean_s")),
              "chosen" if c.get("offset_s") == chosen else ""] for c in r["candidates"]])
    return out


def _payment(operators: dict, currency: str) -> str:
    if not operators:
        return "<p>Every operator accepts every payment medium.</p>"
    return plain_table(["operator", "accepts", "others pay with", "commuters who did", f"their mean fare there ({currency})"],
                       [[op, ", ".join(v.get("accepts", [])), v.get("fallback_medium") or "\u2013",
                         _number(v.get("fallback_commuters"), 0), _money(v.get("fallback_fare_mean_cny"))]
                        for op, v in operators.items()])


def disruption_sections(view: RunView) -> list[Section]:
    """The scenario's disruptions (summary `disruptions`): the closures and the commuters they touched."""
    d = view.summary.get("disruptions")
    if not d:
        return []
    def bridge(c: dict) -> str:
        b = c.get("bus_bridge")
        if not b:
            return "none"
        return (f"{_number(b.get('buses'), 0)} buses carried {_number(b.get('riders'), 0)} riders "
                f"(fullest {_number(b.get('load_max'), 0)} of {_number(b.get('capacity'), 0)})")

    closures = plain_table(
        ["closure", "line", "between", "from", "to", "trains cut short", "bus bridge"],
        [[cid, c.get("line"), " \u2013 ".join(view.names.get(s, s) for s in c.get("between", [])),
          _clock(c.get("start_s")), _clock(c.get("end_s")), _number(c.get("trains_cut"), 0), bridge(c)]
         for cid, c in d.get("closures", {}).items()])
    touched = facts_html([
        ("put off a train cut short", esc(_number(d.get("put_off"), 0))),
        ("left waiting by a train turning back", esc(_number(d.get("waited"), 0))),
        ("rerouted (knowing of a closure)", esc(_number(d.get("rerouted"), 0))),
        ("of those, left the rail network on the way", esc(_number(d.get("left"), 0))),
        ("of those, still in the network at the end", esc(_number(d.get("stranded"), 0))),
        ("mean travel time of those touched who arrived (min)", esc(_minutes(d.get("travel_time_mean_s"))))])
    way = view.summary.get("on_the_way") or {}
    if way:
        where = ", ".join(f"{view.names.get(s, s)} {_number(n, 0)}" for s, n in
                          sorted(way.get("left_at", {}).items(), key=lambda x: -x[1])[:5])
        touched += "<h3>Choices on the way (every commuter)</h3>" + facts_html([
            ("chose again at least once", esc(_number(way.get("rechose"), 0))),
            ("took other legs", esc(_number(way.get("rerouted"), 0))),
            ("left the rail network", esc(_number(way.get("left"), 0)) + (f" ({esc(where)})" if where else "")),
            ("still in the network at the end", esc(_number(way.get("in_system"), 0)))])
    note = ('<p class="note">Commuters touched are counted over every commuter, warm-up included, each once '
            "(trips.parquet <code>disruption</code>).</p>")
    return [("Disruptions", closures + "<h3>Commuters touched</h3>" + touched + note)]


def crowd_control_sections(view: RunView) -> list[Section]:
    """Inflow control at station entrances (summary `crowd_control`): the queue outside and the time there."""
    cc = view.summary.get("crowd_control")
    if not cc:
        return []
    table = plain_table(
        ["station", "holding limit", "from", "to", "reached the entrance", "held outside", "time outside, mean (min)",
         "p95 (min)", "longest (min)", "longest queue outside", "person-hours outside", "still outside at the end"],
        [[view.names.get(sid, sid), _number(c.get("holding_limit"), 0), _clock((c.get("window") or {}).get("from_s")),
          _clock((c.get("window") or {}).get("to_s")), _number(c.get("reached_entrance"), 0), _number(c.get("held"), 0),
          _minutes(c.get("time_outside_mean_s")), _minutes(c.get("time_outside_p95_s")),
          _minutes(c.get("time_outside_max_s")), _number(c.get("queue_outside_max"), 0),
          _number(c.get("person_hours_outside"), 0), _number(c.get("still_outside"), 0)] for sid, c in cc.items()])
    note = ('<p class="note">Of the commuters reaching a metered entrance from the street inside its window. '
            "While the station's platforms hold their limit they wait outside; after each train leaves, as many "
            "go in as the platforms have room for. Riders changing lines or put off a train are never held but "
            "count against the limit. Per rider: facilities.parquet, facility <code>&lt;station&gt;.entry_control"
            "</code>.</p>")
    return [("Crowd control at entrances", table + note)]


def _security(value: str | None) -> str:
    return {"trust": "trusted: no second check", "rescreen": "re-screened"}.get(value or "", "given by explicit paths")


def _media(media: list[str] | None) -> str:
    if media is None:
        return "given by explicit paths"
    return ", ".join(media) if media else "none: every transfer leaves and re-enters"


def _number(x: Any, digits: int = 1) -> str:
    return "\u2013" if x is None else f"{x:,.{digits}f}"


def _money(x: Any) -> str:
    return _number(x, 2)


def _minutes(x: Any) -> str:
    return "\u2013" if x is None else f"{x / 60:.1f}"


def _clock(t: Any) -> str:
    if t is None:
        return "?"
    m = round(float(t) / 60)
    return f"{m // 60:02d}:{m % 60:02d}"
