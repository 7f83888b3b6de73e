"""The command line: validate, run, plot, compare, sweep, calibrate, import-gtfs, export-gtfs, list (see README.md). Exit 0 ok, 2 user error
(or a file that cannot be written), 1 internal error or a full disk; each error is one line, with
the traceback of an internal error only under --debug. SIGTERM and SIGHUP are handled like Ctrl-C:
the output being written is discarded."""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import logging
import math
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from .errors import Problem, UserError
from .io import command_line, load_results, write_json
from .loading import detect_kind, parse_set_arguments, read_yaml
from .metrics import confidence_intervals, rounded
from .plausibility import timetable_notes
from .scenario import is_feed, load_network, load_scenario
from .schema import MAX_SEED
from .shipped import ROOT, scenario_path
from .staging import StagedDir, check_output_dir

log = logging.getLogger("sim")
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argument mistakes are user errors: exit 2, no traceback
        self.print_usage(sys.stderr)
        raise UserError([Problem("", "arguments", message)])


def build_parser(prog: str = "run_sim.py") -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog=prog, description="Yangtze River Delta commuting-circle transit simulator. Shipped scenarios "
                "and sweeps may be named without their folder and suffix (run baseline); `list` shows them.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = _Parser(add_help=False)  # options of every command (a _Parser, as the subparsers it is a parent of)
    common.add_argument("--debug", action="store_true", help="print the traceback of an internal error")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    v = sub.add_parser("validate", parents=[common], help="check scenario and network files; report every problem")
    v.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="scenario, network, sweep, zones or calibration files or GTFS feeds (shipped scenarios by name)")
    v.add_argument("--strict", action="store_true", help="timetable warnings are errors (exit 2)")
    r = sub.add_parser("run", parents=[common], help="run a scenario and write a run directory")
    r.add_argument("scenario", type=Path, help="scenario file, or the name of a shipped scenario (e.g. baseline)")
    r.add_argument("--out", type=Path, help="output directory (default results/<scenario name>)")
    r.add_argument("--seed", type=int, help="master seed (default: the scenario's seed)")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field by dotted path, e.g. demand.total=200000")
    r.add_argument("--replications", type=int, default=1, metavar="R",
                   help="independent runs with the same seed and replications 0..R-1, with 95 %% confidence "
                        "intervals in summary.json (default 1)")
    r.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    r.add_argument("--engine", choices=("bulk", "reference"), default="bulk",
                   help="bulk (default, fast) or reference (one process per commuter, for checking; same tables)")
    r.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    r.add_argument("--no-plots", action="store_true", help="skip the charts and report.html")
    pl = sub.add_parser("plot", parents=[common], help="draw a run's charts (and its report.html) for any time window")
    pl.add_argument("run_dir", type=Path, help="a run directory, a directory of replications or a sweep point")
    pl.add_argument("--window", help="HH:MM-HH:MM (default: the run's peak hour)")
    pl.add_argument("--lines", nargs="+", help="line ids (default: every line)")
    pl.add_argument("--out", type=Path, help="output directory (default RUN_DIR/plots-HHMM-HHMM[-LINES])")
    pl.add_argument("--force", action="store_true", help="replace another plot output folder")
    c = sub.add_parser("compare", parents=[common], help="compare runs: KPI table, charts and report.html")
    c.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR",
                   help="run directories, directories of replications or sweep points (SWEEP_DIR/pNNN); the first "
                        "is the reference")
    c.add_argument("--out", type=Path, help="output directory (default results/compare/A-vs-B...)")
    c.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    w = sub.add_parser("sweep", parents=[common], help="run a sweep file: a grid of parameters with replications")
    w.add_argument("sweep", type=Path, help="sweep file, or the name of a shipped sweep")
    w.add_argument("--out", type=Path, help="sweep directory (default results/<sweep name>)")
    w.add_argument("--workers", type=int, help="local worker processes, or Dask workers with --scheduler local "
                                                "(default: the machine's cores)")
    w.add_argument("--scheduler", help="a Dask scheduler address (tcp://host:8786), or 'local' for a Dask local cluster")
    w.add_argument("--resume", action="store_true", help="run only the runs not complete yet")
    w.add_argument("--force", action="store_true", help="start the sweep directory again")
    w.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    ca = sub.add_parser("calibrate", parents=[common], help="fit a scenario's assumed numbers to observed counts and "
                                                             "write the calibrated scenario")
    ca.add_argument("calibration", type=Path, help="calibration file (see README, Calibration)")
    ca.add_argument("--out", type=Path, help="calibrated scenario to write (default: <its name>.yaml beside the "
                                              "scenario it calibrates)")
    ca.add_argument("--force", action="store_true", help="replace a scenario written by calibrate before")
    ca.add_argument("--quiet", action="store_true", help="print only the fit")
    ig = sub.add_parser("import-gtfs", parents=[common], help="a GTFS feed (zip or folder) as a network file")
    ig.add_argument("feed", type=Path, help="GTFS feed: a zip file or a folder of its .txt files")
    ig.add_argument("--date", help="service day YYYYMMDD (default: the feed's date with the most trips)")
    ig.add_argument("--agencies", nargs="+", metavar="AGENCY", help="agency ids or names (default: all)")
    ig.add_argument("--routes", nargs="+", metavar="ROUTE", help="route ids or short names (default: every rail route)")
    ig.add_argument("--out", type=Path, help="network file to write (default networks/<feed name>.yaml)")
    ig.add_argument("--force", action="store_true", help="replace an existing file")
    ig.add_argument("--list", action="store_true", help="print the operators, lines and stations it would give, "
                                                        "with the ids a scenario uses, and write nothing")
    eg = sub.add_parser("export-gtfs", parents=[common], help="a network (or a scenario's network) as a GTFS feed")
    eg.add_argument("source", type=Path, metavar="NETWORK_OR_SCENARIO",
                    help="network file, or scenario file (its network with its changes)")
    eg.add_argument("--out", type=Path, required=True, help="GTFS zip file to write")
    eg.add_argument("--force", action="store_true", help="replace an existing file")
    sub.add_parser("list", parents=[common], help="shipped networks, scenarios and sweeps")
    return p


def cmd_validate(args) -> int:
    problems: list[Problem] = []
    for path in map(scenario_path, args.paths):
        try:
            kind = "network" if is_feed(path) else detect_kind(read_yaml(path))
            if kind == "scenario":
                from .api import check_scenario

                scn = _loading(load_scenario, path)
                check_scenario(scn)
                m = scn.model
                notes, warnings = timetable_notes(scn.network, m.period.start, scn.t_end,
                                                  m.operations.mode == "dynamic")
            elif kind == "sweep":
                from .sweep import check_points, load_sweep

                broken = check_points(load_sweep(path))
                if broken:
                    raise UserError(broken)
                notes, warnings = [], []
            elif kind == "calibration":
                from .calibrate import load_calibration

                _loading(load_calibration, path)
                notes, warnings = [], []
            elif kind == "zones":
                from .zones import load_zones

                load_zones(path)
                notes, warnings = [], []
            else:
                notes, warnings = timetable_notes(_loading(load_network, path)[0], 0.0, math.inf, True)
            for note in notes:
                print(f"note: {path}: {note}")
            for warning in warnings:
                log.warning("%s: %s", path, warning)
            if args.strict and warnings:
                problems.extend(Problem(str(path), "timetable", f"{w} (--strict)") for w in warnings)
                continue
            print(f"ok: {path}")
        except UserError as err:
            problems.extend(err.problems)
    if problems:
        raise UserError(problems)
    return 0


def _progress_bar(t0: float, t1: float, enabled: bool, label: str):
    """A progress bar over simulated time [t0, t1] (s) on the terminal, and the function the run
    calls with the simulated clock. The clock is clamped to the bar's range: trains start before
    the demand period, and the bar must never go below 0 % or past 100 %."""
    if not enabled:
        return None, None
    from tqdm import tqdm

    # nrows: one bar only; a terminal reporting no height (0 rows) would otherwise hide it
    bar = tqdm(total=round(t1 - t0), desc=label, unit="sim-s", leave=False, file=sys.stderr, nrows=2,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")
    state = {"shown": 0}

    def update(now: float) -> None:
        done = round(min(max(now, t0), t1) - t0)
        if done > state["shown"]:
            bar.update(done - state["shown"])
            state["shown"] = done

    return bar, update


def _warnings_above(bar):
    """While a progress bar is shown, log messages are printed on their own lines above it."""
    if bar is None:
        return contextlib.nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm(loggers=[logging.getLogger()])  # the console handler is the root's


MAX_REPLICATIONS = 1000
"""More replications than this in one command is a slip of the keyboard (use a sweep)."""


def cmd_run(args) -> int:
    from . import api
    from .rundir import run_identity, write_run_dir

    if not 1 <= args.replications <= MAX_REPLICATIONS:
        raise UserError.single("", "--replications", f"expected a whole number from 1 to {MAX_REPLICATIONS}")
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UserError.single("", "--seed", f"expected a whole number from 0 to {MAX_SEED}")
    overrides = {**demand_from_environment(), **parse_set_arguments(args.sets)}
    scn = _loading(load_scenario, scenario_path(args.scenario), overrides)
    out = args.out if args.out is not None else ROOT / "results" / scn.name
    identity = run_identity(scn, args.seed, args.replications)
    interactive = sys.stderr.isatty() and not args.quiet
    kind = "run" if args.replications == 1 else "replications"
    with StagedDir(out, kind, identity) as stage:
        check_output_dir(out, args.force, replaces_same=identity if args.out is None else None)
        summaries = []
        for rep in range(args.replications):
            t_start = time.perf_counter()
            target = stage.staged if args.replications == 1 else stage.staged / f"rep-{rep:03d}"
            target.mkdir(parents=True, exist_ok=True)
            label = scn.name if args.replications == 1 else f"{scn.name} rep {rep}"
            bar, update = _progress_bar(scn.model.period.start, scn.t_end, interactive, label)
            try:
                with _warnings_above(bar):
                    result = api.run(scn, args.seed, rep, args.engine, update, tables_to=target)
            finally:
                if bar is not None:
                    bar.close()
            write_run_dir(target, result, command_line(), t_start, charts=not args.no_plots and args.replications == 1)
            summaries.append(result.summary)
            if not args.quiet:
                _print_headline(result.summary, time.perf_counter() - t_start, label)
        if args.replications > 1:
            write_json(stage.staged / "summary.json", {"replications": args.replications,
                                                     "kpis": rounded(confidence_intervals(summaries))})
            if not args.no_plots:  # one set of charts from the pooled replications
                from .report import RunView, standard_charts, write_run_report

                view = RunView.pooled([load_results(stage.staged / f"rep-{r:03d}") for r in range(args.replications)])
                write_run_report(view, standard_charts(view, stage.staged / "plots"), stage.staged / "report.html")
    if not args.quiet:
        print(f"wrote {out}" + ("" if args.no_plots else f"; the report: {out / 'report.html'}"))
    return 0


def _print_headline(summary: dict, wall: float, label: str) -> None:
    def mins(x):
        return "n/a" if x is None else f"{x / 60:.1f} min"

    print(f"{label}: {summary['commuters']:,} commuters, {summary['arrived']:,} arrived, "
          f"{summary['in_system']:,} still travelling at the end"
          + (f", {summary['left']:,} left the rail network on the way" if summary.get("left") else "")
          + f"; mean travel time "
          f"{mins(summary['travel_time_mean_s'])} (p95 {mins(summary['travel_time_p95_s'])}); "
          + (f"{summary['denied_commuters']:,} left behind by a full train at least once "
             f"({summary['denied_share'] or 0:.1%}), waiting {mins(summary['denied_wait_mean_s'])} on average from "
             "the first time" if summary["denied_commuters"] else "nobody left behind by a full train")
          + f"; wall time {wall:.1f} s")
    for name, g in summary.get("groups", {}).items():
        print(f"  {name}: {g['commuters']:,} commuters, mean travel time {mins(g['travel_time_mean_s'])}, "
              f"mean transfer {mins(g['transfer_mean_s'])}, mean fare {g['fare_mean_cny'] or 0:.2f} {summary.get('currency', 'CNY')}")


def parse_window(text: str | None) -> tuple[float, float] | None:
    """'HH:MM-HH:MM' to (start, end) in seconds since midnight; UserError when malformed."""
    if text is None:
        return None
    from .units import parse_time

    first, sep, second = text.partition("-")
    t0: float | None
    t1: float | None
    try:
        t0, t1 = parse_time(first.strip()), parse_time(second.strip())
    except (ValueError, TypeError):
        t0 = t1 = None
    if not sep or t0 is None or t1 is None or t1 <= t0:
        raise UserError.single("--window", text, "expected HH:MM-HH:MM with the end after the start, e.g. 07:00-09:00")
    return t0, t1


def _folder_name(parts: list[str], limit: int = 80) -> str:
    """A folder name from labels (ids, times): characters other than letters, digits, '.', '_' and
    '-' become '_', and a name longer than `limit` is cut and given a digest of the whole."""
    import hashlib
    import re

    name = re.sub(r"[^A-Za-z0-9._-]", "_", "-".join(parts)).lstrip(".") or "output"
    if len(name) > limit:
        name = name[: limit - 9] + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return name


def _refuse_inputs(out: Path, inputs: list[Path]) -> None:
    """UserError when `out` is one of `inputs` or holds one: replacing it would destroy what the
    command reads."""
    target = out.resolve()
    for path in inputs:
        source = path.resolve()
        if source == target or target in source.parents:
            raise UserError.single(str(out), "--out", f"is {'' if source == target else 'a folder holding '}one of "
                                   f"the inputs ({path}); choose another output folder")


def cmd_plot(args) -> int:
    from .report import RunView, all_charts, write_run_report
    from .report.compare import load_run_set
    from .units import format_time

    window = parse_window(args.window)
    runs = load_run_set(args.run_dir).reps
    view = RunView.pooled(runs) if len(runs) > 1 else RunView.of_run_dir(runs[0])
    unknown = sorted(set(args.lines or ()) - set(view.lines_run()))
    if unknown:
        raise UserError.single("--lines", " ".join(unknown), f"not a line of this run (lines: {', '.join(view.lines_run())})")
    shown = window or view.peak_hour
    stamp = [format_time(t).replace(":", "")[:4] for t in shown]
    out = args.out if args.out is not None else args.run_dir / _folder_name(["plots", *stamp, *(args.lines or [])])
    _refuse_inputs(out, [args.run_dir])
    identity = {"run": str(args.run_dir.resolve()), "window": "-".join(stamp), "lines": " ".join(args.lines or [])}
    with StagedDir(out, "plots", identity) as stage:
        check_output_dir(out, args.force, replaces_same=identity, kinds=("plots",))
        charts = all_charts(view, stage.staged, window, args.lines)
        write_run_report(view, charts, stage.staged / "report.html")
    print(f"wrote {len(charts)} charts and {out / 'report.html'}")
    return 0


def cmd_compare(args) -> int:
    from .report import compare_runs

    names = [p.name if p.exists() else f"{p.parent.name}-{p.name}" for p in args.run_dirs]  # a sweep's point
    out = args.out if args.out is not None else ROOT / "results" / "compare" / _folder_name(["-vs-".join(names)])
    _refuse_inputs(out, args.run_dirs)
    identity = {"runs": " ".join(str(p.resolve()) for p in args.run_dirs)}
    with StagedDir(out, "compare", identity) as stage:
        check_output_dir(out, args.force, replaces_same=identity if args.out is None else None)
        written = compare_runs(args.run_dirs, stage.staged)
    charts = sum(p.suffix == ".png" for p in written)
    print(f"compared {len(args.run_dirs)} runs: wrote {out} (kpis.md, kpis.csv, report.html"
          + (f", {charts} charts in plots/)" if charts else "; no charts: the runs kept no tables)"))
    return 0


def cmd_list(args) -> int:
    rows = []
    for folder in ("networks", "networks/zones", "scenarios", "scenarios/calibration"):
        for path in sorted((ROOT / folder).glob("*.yaml")):
            try:
                doc = read_yaml(path)
                data = doc.data if isinstance(doc.data, dict) else {}
            except UserError:
                data = {}
            desc = str(data.get("description") or "").strip().splitlines()
            kind = detect_kind(doc) if data else ("scenario" if folder == "scenarios" else "network")
            rows.append((kind, f"{folder}/{path.name}", desc[0] if desc else ""))
    print(f"shipped files in {ROOT} (scenarios and sweeps may be named without folder and suffix: run baseline)")
    width = max((len(r[1]) for r in rows), default=0) + 2
    kinds = max((len(r[0]) for r in rows), default=0)
    for kind, name, first_line in rows:
        print(f"{kind:{kinds}s} {name:{width}s}{first_line}")
    return 0


DEMAND_VARIABLE = "YRD_SIM_DEMAND_TOTAL"
"""Environment variable: demand.total for every `run` and `sweep` that does not set it itself (to
try the README's commands quickly); each command using it says so."""


def demand_from_environment() -> dict[str, int]:
    """{"demand.total": N} when YRD_SIM_DEMAND_TOTAL is set (a warning says so), else {}."""
    text = os.environ.get(DEMAND_VARIABLE)
    if not text:
        return {}
    if not text.isdigit():
        raise UserError.single("", DEMAND_VARIABLE, f"expected a whole number of commuters, got {text!r}")
    log.warning("demand.total = %s for this command, from the environment variable %s", text, DEMAND_VARIABLE)
    return {"demand.total": int(text)}


def cmd_sweep(args) -> int:
    from .sweep import check_points, load_sweep, run_sweep

    sweep = load_sweep(scenario_path(args.sweep), demand_from_environment())
    broken = check_points(sweep)
    if len(broken) == len(sweep.points):
        raise UserError(broken)
    for problem in broken:
        log.warning("%s (its runs will be recorded as failed)", problem)
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise UserError.single("", "--workers", "expected a whole number of at least 1")
    out = args.out if args.out is not None else ROOT / "results" / sweep.model.name
    bar = None
    if sys.stderr.isatty() and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(sweep.runs()), unit="run", desc=sweep.model.name, file=sys.stderr)

    def progress(done: int, failed: int, total: int) -> None:
        if bar is not None:
            bar.n = done
            bar.set_postfix(failed=failed, refresh=False)
            bar.refresh()

    try:
        summary = run_sweep(sweep, out, workers=workers, scheduler=args.scheduler, resume=args.resume,
                            force=args.force, progress=progress,
                            notify=None if args.quiet else print)
    except KeyboardInterrupt as exc:
        signum = exc.args[0] if isinstance(exc, Interrupted) else signal.SIGINT
        print(f"interrupted ({signal.Signals(signum).name}): the runs completed so far are in {out}; --resume "
              "finishes the sweep", file=sys.stderr)
        raise Interrupted(signum, "reported") from None
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        failed = int((summary["status"] != "ok").sum())
        print(f"{sweep.model.name}: {len(summary)} runs ({failed} failed) over {len(sweep.points)} points; "
              f"wrote {out} (report.html, points.csv, summary.parquet, points.parquet, plots/)")
    return 0


def _check_output_file(out: Path, force: bool, ours: Callable[[Path], bool], what: str) -> None:
    """Refuse to replace an existing file unless forced, and even then one this simulator did not
    write (`ours(out)` says whether it did); never a directory or a link."""
    if out.is_symlink():
        raise UserError.single(str(out), "--out", "is a symbolic link; give the file itself")
    if out.is_dir():
        raise UserError.single(str(out), "--out", "is a directory; expected a file name")
    if out.exists() and not force:
        raise UserError.single(str(out), "--out", "exists (use --force to replace it)")
    if out.exists() and not ours(out):
        raise UserError.single(str(out), "--out", f"is not {what}: --force replaces only such a file; choose "
                               "another file name")


def cmd_calibrate(args) -> int:
    from .api import run
    from .calibrate import calibrate, fit_table, is_calibrated_scenario, load_calibration, scenario_text
    from .io import git_revision
    from .safefs import OutputLock, atomic_write_text

    spec_path = scenario_path(args.calibration)
    spec, scenario = _loading(load_calibration, spec_path)
    out = args.out if args.out is not None else Path(os.path.normpath(scenario.path.parent / f"{spec.name}.yaml"))
    what = "a scenario written by calibrate"
    _check_output_file(out, args.force, is_calibrated_scenario, what)
    if args.quiet:
        logging.getLogger("sim").setLevel(logging.ERROR)
    fit = calibrate(spec_path, lambda scn: run(scn).summary, (lambda _: None) if args.quiet else print)
    text = scenario_text(fit, out, git_revision())
    with OutputLock(out):
        _check_output_file(out, args.force, is_calibrated_scenario, what)
        atomic_write_text(out, text)
    widths = ["count", "kpi", "observed", "model", "error %", "GEH"]
    rows = [widths] + fit_table(fit)
    sizes = [max(len(r[i]) for r in rows) for i in range(len(widths))]
    for r in rows:
        print("  ".join(cell.ljust(n) for cell, n in zip(r, sizes)).rstrip())
    values = ", ".join(f"{spec.parameters[pid].path} = {v:.6g}" for pid, v in fit.values.items())
    print(f"matched in {fit.trials} runs (relative errors' RMS {100 * fit.rmse_relative:.2f} %): {values}; wrote {out}")
    return 0


def cmd_import_gtfs(args) -> int:
    from .gtfs import ids_listing, import_feed, is_imported_network, network_yaml
    from .safefs import OutputLock, atomic_write_text

    if args.list:
        print(ids_listing(import_feed(args.feed, args.date, args.agencies, args.routes)))
        return 0
    out = args.out if args.out is not None else ROOT / "networks" / f"{args.feed.stem}.yaml"
    _check_output_file(out, args.force, is_imported_network, "a network file written by import-gtfs")
    network = import_feed(args.feed, args.date, args.agencies, args.routes)
    out.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(out):
        _check_output_file(out, args.force, is_imported_network, "a network file written by import-gtfs")
        atomic_write_text(out, network_yaml(network))
    lines = network["lines"]
    services = sum(len(p["timetable"]) for ln in lines for p in ln["patterns"])
    print(f"wrote {out}: {len(network['stations'])} stations, {len(lines)} line{'s' * (len(lines) != 1)}, "
          f"{services} service{'s' * (services != 1)}")
    print(network["description"])
    return 0


def cmd_export_gtfs(args) -> int:
    from .gtfs import export_feed, is_exported_feed
    from .safefs import OutputLock

    _check_output_file(args.out, args.force, is_exported_feed, "a feed written by export-gtfs")
    if not is_feed(args.source) and detect_kind(read_yaml(args.source)) == "scenario":
        network = load_scenario(args.source).network  # the network as the scenario runs it
    else:
        network = load_network(args.source)[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(args.out):
        _check_output_file(args.out, args.force, is_exported_feed, "a feed written by export-gtfs")
        export_feed(network, args.out)  # written to a temporary file and renamed when complete
    print(f"wrote {args.out}: {len(network.stations)} stations, {len(network.lines)} routes, "
          f"{sum(len(p.departures) for p in network.patterns):,} trains")
    return 0


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "plot": cmd_plot, "compare": cmd_compare, "sweep": cmd_sweep,
            "import-gtfs": cmd_import_gtfs, "export-gtfs": cmd_export_gtfs, "list": cmd_list, "calibrate": cmd_calibrate}


OUT_OF_MEMORY = {
    "run": "lower demand.total (--set demand.total=...) or free memory",
    "sweep": "a run of the sweep needs more memory than is free: use fewer --workers or lower demand.total in the "
             "sweep file",
    "import-gtfs": "a feed's tables are read whole before --routes and --agencies apply: cut the feed to the "
                   "routes needed, or free memory",
    "compare": "compare fewer runs, or runs with fewer commuters, or free memory",
    "plot": "free memory, or plot a run with fewer commuters",
    "calibrate": "lower the calibration file's `total` (the fitting runs' commuters) or free memory",
}
"""What to do when a command runs out of memory (the cause differs by command)."""


class OutOfMemory(MemoryError):
    """Memory ran out where the usual advice for the command does not fit; args[0] is the advice."""


def _loading(load, *args):
    """`load(*args)` (a scenario or network loader); running out of memory there is the network's
    feed or files, not the demand."""
    try:
        return load(*args)
    except MemoryError:
        raise OutOfMemory("reading the network (a GTFS feed is read whole: cut it to the routes needed), or "
                          "free memory") from None


class Interrupted(KeyboardInterrupt):
    """A termination signal (SIGTERM, SIGHUP), handled like Ctrl-C."""


def _interrupt(owner: int, signum: int, frame) -> None:
    """Raise Interrupted in the process `owner` that installed this handler; a worker forked from
    it ends as the signal would have ended it."""
    if os.getpid() != owner:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise Interrupted(signum)


def _os_error(exc: OSError) -> tuple[str, int]:
    """A failed file operation as a one-line message and exit code: 2 for a path the user can
    change (no permission, read-only, missing or wrong kind of folder), 1 for a full disk or
    anything else."""
    where = f"{exc.filename}: " if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{where}disk full ({exc.strerror}); nothing was written", 1
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}permission denied ({exc.strerror}); choose another --out or fix the permissions", 2
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST):
        return f"{where}{exc.strerror}", 2
    return f"{where}{exc.strerror or exc}", 1


def main(argv: list[str] | None = None, prog: str = "run_sim.py") -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    handled = [s for s in (signal.SIGTERM, signal.SIGHUP)  # unless ignored (nohup) or handled already
               if signal.getsignal(s) is signal.SIG_DFL and threading.current_thread() is threading.main_thread()]
    previous = {s: signal.signal(s, functools.partial(_interrupt, os.getpid())) for s in handled}
    command = next((a for a in argv if a in COMMANDS), "")
    try:
        args = build_parser(prog).parse_args(argv)
        return COMMANDS[args.command](args)
    except UserError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = exc.args[0] if isinstance(exc, Interrupted) else signal.SIGINT
        if "reported" not in exc.args:
            print(f"interrupted ({signal.Signals(signum).name}); nothing was written", file=sys.stderr)
        return 128 + signum
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        message, code = _os_error(exc)
        if debug:
            traceback.print_exc()
        print(f"error: {message}", file=sys.stderr)
        return code
    except MemoryError as exc:
        if debug:
            traceback.print_exc()
        advice = exc.args[0] if isinstance(exc, OutOfMemory) else OUT_OF_MEMORY.get(command, "free memory and try again")
        print(f"error: out of memory; {advice}", file=sys.stderr)
        return 1
    except Exception as exc:  # internal error: one line, the traceback with --debug for the bug report
        if debug:
            traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc}" + ("" if debug else " (run again with --debug "
              "for the traceback)"), file=sys.stderr)
        return 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
