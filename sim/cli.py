"""The command line: validate, run, plot, compare, list (see README.md). Exit 0 ok, 2 user error, 1
internal error."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from .errors import Problem, UserError
from .io import StagedDir, check_output_dir, command_line, load_results, manifest, write_gis, write_json, write_tables
from .loading import detect_kind, load_network_files, parse_set_arguments, read_yaml
from .metrics import confidence_intervals, rounded
from .network import build_network
from .scenario import load_scenario

log = logging.getLogger("sim")
_CLONE = Path(__file__).resolve().parent.parent
ROOT = _CLONE if (_CLONE / "networks").is_dir() else Path.cwd()
"""Where shipped networks and scenarios are listed and results/ is written by default: the clone
(run_sim.py or an editable install), else the current directory (a plain package install)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argument mistakes are user errors: exit 2, no traceback
        self.print_usage(sys.stderr)
        raise UserError([Problem("", "arguments", message)])


def build_parser(prog: str = "run_sim.py") -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description="Yangtze River Delta commuting-circle transit simulator.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    v = sub.add_parser("validate", help="check scenario and network files; report every problem")
    v.add_argument("paths", nargs="+", type=Path)
    r = sub.add_parser("run", help="run a scenario and write a run directory")
    r.add_argument("scenario", type=Path)
    r.add_argument("--out", type=Path, help="output directory (default results/<scenario name>)")
    r.add_argument("--seed", type=int, help="master seed (default: the scenario's seed)")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field by dotted path, e.g. demand.total=200000")
    r.add_argument("--replications", type=int, default=1)
    r.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    r.add_argument("--engine", choices=("bulk", "reference"), default="bulk")
    r.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    r.add_argument("--no-plots", action="store_true", help="skip the charts and report.html")
    pl = sub.add_parser("plot", help="draw a run's charts (and its report.html) for any time window")
    pl.add_argument("run_dir", type=Path)
    pl.add_argument("--window", help="HH:MM-HH:MM (default: the run's peak hour)")
    pl.add_argument("--lines", nargs="+", help="line ids (default: every line)")
    pl.add_argument("--out", type=Path, help="output directory (default RUN_DIR/plots)")
    c = sub.add_parser("compare", help="compare runs: KPI table, charts and report.html")
    c.add_argument("run_dirs", nargs="+", type=Path)
    c.add_argument("--out", type=Path, help="output directory (default results/compare)")
    c.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    sub.add_parser("list", help="shipped networks and scenarios")
    return p


def cmd_validate(args) -> int:
    problems: list[Problem] = []
    for path in args.paths:
        try:
            doc = read_yaml(path)
            if detect_kind(doc) == "scenario":
                from .api import check_scenario

                check_scenario(load_scenario(path))
            else:
                build_network(load_network_files(path))
            print(f"ok: {path}")
        except UserError as err:
            problems.extend(err.problems)
    if problems:
        raise UserError(problems)
    return 0


def _progress_bar(t0: float, t1: float, enabled: bool, label: str):
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=round(t1 - t0), desc=label, unit="sim-s", leave=False, file=sys.stderr,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")
    state = {"last": t0}

    def update(now: float) -> None:
        now = min(now, t1)
        bar.update(round(now - state["last"]))
        state["last"] = now

    return bar, update


def cmd_run(args) -> int:
    from . import api

    if args.replications < 1:
        raise UserError.single("", "--replications", "expected a whole number of at least 1")
    overrides = parse_set_arguments(args.sets)
    scn = load_scenario(args.scenario, overrides)
    out = args.out if args.out is not None else ROOT / "results" / scn.name
    check_output_dir(out, args.force)
    interactive = sys.stderr.isatty() and not args.quiet
    stage = StagedDir(out)
    try:
        summaries = []
        for rep in range(args.replications):
            t_start = time.perf_counter()
            target = stage.path if args.replications == 1 else stage.path / f"rep-{rep:03d}"
            target.mkdir(parents=True, exist_ok=True)
            label = scn.name if args.replications == 1 else f"{scn.name} rep {rep}"
            bar, update = _progress_bar(scn.model.period.start, scn.t_end, interactive, label)
            try:
                result = api.run(scn, args.seed, rep, args.engine, update)
            finally:
                if bar is not None:
                    bar.close()
            t_write = time.perf_counter()
            write_tables(target, result.tables)
            peak = result.summary["windows"]["peak_hour"]
            write_gis(target, result.scenario.network, result.trains, (peak["from_s"], peak["to_s"]))
            write_json(target / "summary.json", rounded(result.summary))
            if not args.no_plots and args.replications == 1:
                from .report import RunView, standard_charts, write_run_report

                view = RunView.of_result(result)
                write_run_report(view, standard_charts(view, target / "plots"), target / "report.html")
            result.timings_s["writing"] = time.perf_counter() - t_write
            wall = time.perf_counter() - t_start
            write_json(target / "manifest.json", manifest(result, command_line(), wall, scn.network_files))
            summaries.append(result.summary)
            if not args.quiet:
                _print_headline(result.summary, wall, label)
        if args.replications > 1:
            write_json(stage.path / "summary.json", {"replications": args.replications,
                                                     "kpis": rounded(confidence_intervals(summaries))})
            if not args.no_plots:  # one set of charts from the pooled replications
                from .report import RunView, standard_charts, write_run_report

                view = RunView.pooled([load_results(stage.path / f"rep-{r:03d}") for r in range(args.replications)])
                write_run_report(view, standard_charts(view, stage.path / "plots"), stage.path / "report.html")
        stage.commit()
    except BaseException:
        stage.discard()
        raise
    if not args.quiet:
        print(f"wrote {out}")
    return 0


def _print_headline(summary: dict, wall: float, label: str) -> None:
    def mins(x):
        return "n/a" if x is None else f"{x / 60:.1f} min"

    print(f"{label}: {summary['commuters']:,} commuters, {summary['arrived']:,} arrived, "
          f"{summary['in_system']:,} still travelling at the end; mean travel time "
          f"{mins(summary['travel_time_mean_s'])} (p95 {mins(summary['travel_time_p95_s'])}); "
          f"denied boardings {summary['denied_boardings']:,}; wall time {wall:.1f} s")
    for name, g in summary.get("groups", {}).items():
        print(f"  {name}: {g['commuters']:,} commuters, mean travel time {mins(g['travel_time_mean_s'])}, "
              f"mean transfer {mins(g['transfer_mean_s'])}, mean fare {g['fare_mean_cny'] or 0:.2f} CNY")


def parse_window(text: str | None) -> tuple[float, float] | None:
    """'HH:MM-HH:MM' to (start, end) in seconds since midnight; UserError when malformed."""
    if text is None:
        return None
    from .units import parse_time

    first, sep, second = text.partition("-")
    try:
        t0, t1 = parse_time(first.strip()), parse_time(second.strip())
    except (ValueError, TypeError):
        t0 = t1 = None
    if not sep or t0 is None or t1 is None or t1 <= t0:
        raise UserError.single("--window", text, "expected HH:MM-HH:MM with the end after the start, e.g. 07:00-09:00")
    return t0, t1


def cmd_plot(args) -> int:
    from .report import RunView, all_charts, write_run_report
    from .report.compare import load_run_set

    window = parse_window(args.window)
    runs = load_run_set(args.run_dir).reps
    view = RunView.pooled(runs) if len(runs) > 1 else RunView.of_run_dir(runs[0])
    unknown = sorted(set(args.lines or ()) - set(view.lines_run()))
    if unknown:
        raise UserError.single("--lines", " ".join(unknown), f"not a line of this run (lines: {', '.join(view.lines_run())})")
    out = args.out if args.out is not None else args.run_dir / "plots"
    charts = all_charts(view, out, window, args.lines)
    write_run_report(view, charts, out / "report.html")
    print(f"wrote {len(charts)} charts and {out / 'report.html'}")
    return 0


def cmd_compare(args) -> int:
    from .report import compare_runs

    out = args.out if args.out is not None else ROOT / "results" / "compare"
    check_output_dir(out, args.force)
    stage = StagedDir(out)
    try:
        written = compare_runs(args.run_dirs, stage.path)
        stage.commit()
    except BaseException:
        stage.discard()
        raise
    print(f"compared {len(args.run_dirs)} runs: wrote {len(written)} files into {out} (kpis.md, kpis.csv, "
          "report.html, plots/)")
    return 0


def cmd_list(args) -> int:
    for folder in ("networks", "scenarios"):
        for path in sorted((ROOT / folder).glob("*.yaml")):
            try:
                doc = read_yaml(path)
                data = doc.data if isinstance(doc.data, dict) else {}
            except UserError:
                data = {}
            desc = str(data.get("description") or "").strip().splitlines()
            kind = "scenario" if folder == "scenarios" else "network"
            print(f"{kind:9s} {folder}/{path.name:28s} {desc[0] if desc else ''}")
    return 0


def main(argv: list[str] | None = None, prog: str = "run_sim.py") -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        args = build_parser(prog).parse_args(argv)
        commands = {"validate": cmd_validate, "run": cmd_run, "plot": cmd_plot, "compare": cmd_compare, "list": cmd_list}
        return commands[args.command](args)
    except UserError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:  # internal error: keep the traceback for the bug report
        traceback.print_exc()
        return 1
