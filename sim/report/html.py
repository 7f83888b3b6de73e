"""Self-contained HTML reports (images embedded as data URIs; opens offline): what was run, KPI
tables, policies, disruptions and every chart with its caption, for one run or a comparison (the
sweep's report is in sweep). Every text is escaped: input text never becomes HTML."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .charts import Chart
from .facts import (
    crowd_control_sections,
    disruption_sections,
    esc,
    facts_html,
    overrides_html,
    policy_sections,
    run_facts,
    seeds_text,
    variant_title,
)
from .view import RunInfo, RunView

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; white-space: nowrap; }
table.text td, table.text th, td.t, th.t { text-align: left; }
table.facts th { background: none; text-align: left; vertical-align: top; font-weight: 600; }
table.facts td { text-align: left; } table.facts ul { margin: 0; padding-left: 1.2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
.warning { border-left: 4px solid #d62728; background: #fdf0f0; padding: 0.4em 0.8em; margin: 0.8em 0; }
.wide { overflow-x: auto; }
th { background: #f2f2f2; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
.note { color: #555; font-size: 0.9em; }
"""

SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    var loaded = imgs[i].complete && imgs[i].naturalWidth > 0;
    imgs[i].setAttribute('data-loaded', loaded ? 'yes' : 'no');
    if (loaded) ok++;
  }
  document.body.setAttribute('data-images', ok + '/' + imgs.length);
});
"""


def table_html(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """A table of escaped cells; the first `left` columns (names, labels) aligned left, the others
    (figures) right."""
    def cls(j: int) -> str:
        return ' class="t"' if 0 < j < left else ""
    head = "".join(f"<th{cls(j)}>{html.escape(h).replace('_', '_<wbr>')}</th>" for j, h in enumerate(header))  # long ids may wrap
    body = "".join("<tr>" + "".join(f"<td{cls(j)}>{html.escape(str(c))}</td>" for j, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def figure_html(chart: Chart) -> str:
    path, caption = chart
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def page(title: str, sections: list[tuple[str, str]]) -> str:
    """A complete HTML document: the title, then each (heading, HTML body) section."""
    parts = [f"<h2>{html.escape(h)}</h2>{body}" for h, body in sections]
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body><h1>{html.escape(title)}</h1>"
            + "".join(parts) + "</body></html>\n")


def _min(x) -> str:
    return "\u2013" if x is None else f"{x / 60:.1f}"


def _mode_rows(s: dict) -> tuple[list[str], list[list[str]]] | None:
    """The mode shares (%) of everyone, each segment and each named group: (mode names, rows), or None
    when the run recorded none or one mode only."""
    found = [("all", s.get("mode_shares"))]
    found += [(f"segment {k}", v.get("mode_shares")) for k, v in s.get("segments", {}).items()]
    found += [(f"group {k}", v.get("mode_shares")) for k, v in s.get("groups", {}).items()]
    parts: list[tuple[str, dict]] = [(name, shares) for name, shares in found if shares]
    names = sorted({m for _, shares in parts for m in shares})
    if len(names) < 2:
        return None
    return names, [[name, *(_num(100 * shares[m], 1) if m in shares else "0.0" for m in names)] for name, shares in parts]


def _mode_choice_html(choice: dict) -> str:
    """The modes chosen by the commuters drawn between zones, of all and of each segment: commuters,
    share (%) and mean door-to-door time (min) of each mode, and how rail riders reach the station."""
    parts = [("all", choice), *((f"segment {k}", v) for k, v in choice.get("segments", {}).items()),
             *((f"group {k}", v) for k, v in choice.get("groups", {}).items())]
    modes = sorted({m for _, v in parts for m in v.get("mode_shares", {})})
    ways = sorted({w for _, v in parts for w in v.get("rail_access_shares", {})})
    head = (["commuters", "number", "travelling"] + [f"{m} (%)" for m in modes] + [f"{m}, door to door (min)" for m in modes]
            + [f"to the station by {w.replace('_', ' ')} (%)" for w in ways])
    rows = [[name, _count(v["commuters"]), _count(v.get("trips", v["commuters"])), *(_pct(v["mode_shares"].get(m, 0.0) if v["commuters"] else None) for m in modes),
             *(_min(v.get("door_to_door_mean_s", {}).get(m)) for m in modes),
             *(_pct(v.get("rail_access_shares", {}).get(w, 0.0)) for w in ways)] for name, v in parts]
    note = ('<p class="note">Commuters drawn between zones choose rail (from a station near home to one near work), '
            'car or bus; "none": no station within reach and no road mode offered. With trip making, some do not '
            'travel at all (number less travelling); the shares are of those travelling. Door to door by rail: the '
            'way to the station, the simulated trip and the way from it (arrived trips).</p>')
    return note + table_html(head, rows)


def _pct(share) -> str:
    """A share (0..1) as a percentage with one decimal."""
    return _num(None if share is None else 100 * share, 1)


def _num(x, digits: int = 2) -> str:
    return "\u2013" if x is None else f"{x:,.{digits}f}"


def run_sections(view: RunView) -> list[tuple[str, str]]:
    """KPI tables of one run (see docs/outputs.md for the definitions)."""
    s = view.summary
    money = str(s.get("currency", "CNY"))
    windows = s.get("windows", {})
    cols = [s] + list(windows.values())
    rows = [["commuters", *(_count(c.get("commuters", 0)) for c in cols)]]
    for key, label in (("travel_time_mean_s", "travel time, mean (min)"), ("travel_time_p50_s", "travel time, p50 (min)"),
                       ("travel_time_p95_s", "travel time, p95 (min)"), ("wait_mean_s", "wait, mean (min)"),
                       ("in_vehicle_mean_s", "in vehicle, mean (min)"), ("transfer_mean_s", "transfer, mean (min)")):
        rows.append([label, *(_min(c.get(key)) for c in cols)])
    rows += [["commuters denied boarding at least once", *(_count(c.get("denied_commuters")) for c in cols)],
             ["share denied boarding at least once", *(_num(c.get("denied_share"), 4) for c in cols)],
             ["denied commuters' wait from the first denial, mean (min)",
              *(_min(c.get("denied_wait_mean_s")) for c in cols)],
             [f"fare, mean ({money})", *(_num(c.get("fare_mean_cny")) for c in cols)]]
    heads = [_window_head(name, w) for name, w in windows.items()]
    warm = s.get("warm_up")
    note = (f"KPIs count the commuters starting from {_clock(warm['until_s'])} (the warm-up leaves "
            f"out {_count(warm['commuters_excluded'])}). " if warm else "")
    if view.replications > 1:
        note += f"Every figure is the mean over {view.replications} replications (confidence intervals in summary.json)."
    note = f'<p class="note">{note}</p>' if note else ""
    sections = [("Key figures", note + table_html(["KPI", "whole period", *heads], rows))]
    groups = s.get("groups", {})
    if groups:
        sections.append(("Named OD groups", table_html(
            ["group", "commuters", "travel time mean (min)", "p95 (min)", "transfer mean (min)", f"fare mean ({money})"],
            [[g, _count(k['commuters']), _min(k["travel_time_mean_s"]), _min(k["travel_time_p95_s"]),
              _min(k["transfer_mean_s"]), _num(k["fare_mean_cny"])] for g, k in groups.items()])))
    modes = _mode_rows(s)
    if modes:
        sections.append(("Modes", '<p class="note">Share of the commuters (%) by the modes they rode ("left": left the rail '
                         'network on the way).</p>' + table_html(["commuters", *modes[0]], modes[1])))
    choice = s.get("mode_choice")
    if choice:
        sections.append(("Mode choice between zones", _mode_choice_html(choice)))
    seats = s.get("reserved_seats", {})
    if seats:
        sections.append(("Reserved seats", '<p class="note">Lines whose riders hold a ticket for one train: rides, '
                         'the share on a standing ticket and on a ticket bought before the day, trains missed by '
                         'riders holding a ticket for them (they bought again), legs still without a ticket at the end, '
                         'and the wait on the platform (those who booked ahead come early for the train they chose).</p>'
                         + table_html(["line", "rides", "standing (%)", "booked ahead (%)", "trains missed",
                                       "without a ticket", "wait mean (min)", "wait, booked ahead (min)",
                                       "wait, bought on the day (min)"],
                                      [[ln, _count(v["rides"]), _pct(v.get("standing_share")),
                                        _pct(v.get("booked_ahead_share")), _count(v["missed_trains"]),
                                        _count(v["without_ticket"]), _min(v["wait_mean_s"]),
                                        _min(v.get("wait_booked_ahead_mean_s")),
                                        _min(v.get("wait_bought_on_the_day_mean_s"))]
                                       for ln, v in seats.items()])))
    sections.append(("Lines and operators", table_html(
        ["line", "peak load factor", "peak standing density (persons/m\u00b2)"],
        [[ln, _num(v, 3), _num(s.get("peak_standing_density_p_m2", {}).get(ln), 2)]
         for ln, v in s.get("peak_load_factor", {}).items()])
        + table_html(["operator", f"fare revenue ({money})"], [[op, _num(v)] for op, v in s.get("fare_revenue_cny", {}).items()])))
    ic_rows = [[f"{ic} \u00b7 {m}", _count(k['transfers']), _min(k["transfer_mean_s"]), _min(k["transfer_p95_s"]),
                _min(k["onward_wait_mean_s"])]
               for ic, v in s.get("interchanges", {}).items() for m, k in v.get("by_medium", {}).items()]
    if ic_rows:
        sections.append(("Transfers at interchanges by payment medium", table_html(
            ["interchange \u00b7 medium", "transfers", "transfer mean (min)", "transfer p95 (min)", "onward wait (min)"],
            ic_rows)))
    fac = s.get("facilities", {})
    if fac:
        sections.append(("Facilities with the longest waits", table_html(
            ["facility", "visits", "not served by the end", "wait mean (s)", "wait p95 (s)", "longest queue",
             "busiest-hour utilisation"],
            [[view.facility_label(f), _count(fac[f]['visits']), _count(fac[f]['still_queueing']),
              _num(fac[f]["wait_mean_s"], 1),
              _num(fac[f]["wait_p95_s"], 1), _count(fac[f]['queue_max']), _num(fac[f]["utilisation_busiest_hour"], 3)]
             for f in view.busiest_facilities(10)])))
    if s.get("warnings"):
        sections.append(("Warnings", "<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in s["warnings"]) + "</ul>"))
    return sections


def _window_head(name: str, w: dict) -> str:
    """Column head of a KPI window: its name and clock times."""
    words = "peak hour" if name == "peak_hour" else name
    if w.get("from_s") is None:
        return f"{words} (each replication's own)"
    return f"{words} {_clock(w['from_s'])}\u2013{_clock(w['to_s'])}"


def _count(x) -> str:
    """A count with thousands separators (means over replications rounded to whole numbers)."""
    return "–" if x is None else f"{round(x):,}"


def _clock(t) -> str:
    if t is None:
        return "?"
    m = round(float(t) / 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def warnings_html(notes: list[str]) -> str:
    """Warnings a reader must see before the figures, one box each."""
    return "".join(f'<p class="warning"><strong>Warning:</strong> {esc(n)}</p>' for n in notes)


def write_run_report(view: RunView, charts: list[Chart], path: Path) -> Path:
    """report.html of one run (or of replications pooled): what was run, its KPI tables, the
    policies in force, the disruptions, and every chart with its caption."""
    sections = ([run_facts(view)] + run_sections(view) + policy_sections(view) + disruption_sections(view) + crowd_control_sections(view)
                + [("Charts", "".join(figure_html(c) for c in charts))])
    path.write_text(page(f"Run report: {variant_title(view)}", sections), encoding="utf-8")
    return path


def compared_runs_html(labels: list[str], infos: list[RunInfo]) -> str:
    """What each compared run was: a fact table per run."""
    parts = []
    for k, (label, info) in enumerate(zip(labels, infos)):
        reps = len(info.seeds)
        rows = [("scenario", esc(info.scenario) + (f" \u2014 {esc(info.description)}" if info.description else "")),
                ("scenario file", f"<code>{esc(info.scenario_file)}</code>" if info.scenario_file else "not recorded"),
                ("overrides (--set)", overrides_html(info.overrides))]
        if info.searched:
            rows.append(("set by the offset search", overrides_html(info.searched)))
        rows += [("seed", esc(seeds_text(info))),
                ("replications", "1" if reps <= 1 else f"{reps} (figures are their means)"),
                ("engine", esc(info.engine or "not recorded"))]
        if info.source:
            rows.append(("directory", f"<code>{esc(info.source)}</code>"))
        role = " (the reference: differences are against it)" if k == 0 else ""
        parts.append(f"<h3>{esc(label)}{esc(role)}</h3>" + facts_html(rows))
    return "".join(parts)


def write_compare_report(labels: list[str], infos: list[RunInfo], notes: list[str], header: list[str],
                         rows: list[list[str]], charts: list[Chart], path: Path) -> Path:
    """report.html of a comparison: any warning that the runs are not like for like, what each run
    was, the KPI table and every comparison chart with its caption."""
    note = ('<p class="note">Times in minutes; differences against the first run, with the 95 % confidence '
            "half-width where the runs have replications (paired replication by replication when the runs "
            "share their seeds).</p>")
    sections = [("What was compared", warnings_html(notes) + compared_runs_html(labels, infos)),
                ("KPIs", warnings_html(notes) + note + table_html(header, rows)),
                ("Charts", "".join(figure_html(c) for c in charts))]
    path.write_text(page("Comparison: " + ", ".join(labels), sections), encoding="utf-8")
    return path
