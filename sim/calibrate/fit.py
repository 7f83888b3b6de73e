"""Fitting a scenario's assumed numbers to observed counts.

Each parameter is set by one count (schema.CalibrationFile). Every trial runs the scenario with the
same seed (the same commuters and random numbers, so a KPI moves only by what the parameters do).
The first trial moves every parameter by its step; after that each parameter takes the secant step
of its own count, x' = x - f (x - x_prev) / (f - f_prev) with f = model - observed, held within its
range. A count that does not move when its parameter moves cannot identify it: the calibration
refuses, naming both. It ends when every count is matched within the tolerance (relative), and
fails after max_iterations trials or when a parameter is held at its bound while its count is still
off.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import Problem, UserError
from ..loading import read_yaml, validate_model
from ..metrics import SHARE_MAPS
from ..scenario import Scenario, load_scenario
from ..schema import CalibrationCount, CalibrationFile

Evaluate = Callable[[Scenario], dict]
"""Runs a scenario and returns its summary.json (as sim.api.run(...).summary)."""


@dataclass(frozen=True)
class CountFit:
    """A count against the model after the fit (the model's figure scaled to the scenario's demand)."""

    count: CalibrationCount
    model: float

    @property
    def relative_error(self) -> float:
        return (self.model - self.count.value) / self.count.value if self.count.value else math.inf

    @property
    def geh(self) -> float | None:
        """The GEH statistic of a count, sqrt(2 (M - C)^2 / (M + C)) (UK DMRB; under 5 is a good
        fit of an hourly traffic count); None for a share."""
        m, c = self.model, self.count.value
        return math.sqrt(2 * (m - c) ** 2 / (m + c)) if self.count.kind == "count" and m + c > 0 else None


@dataclass(frozen=True)
class Fit:
    spec: CalibrationFile
    spec_path: Path
    scenario: Scenario
    values: dict[str, float]
    """Calibrated value of each parameter, by its id."""
    counts: list[CountFit]
    trials: int
    scale: float
    """Scenario demand over the fitting runs' demand (counts are scaled by it)."""
    demand_total: int | None = None
    """The scenario's demand total that keeps the commuters of the segments not fitted, when
    parameters size segments (None otherwise)."""

    @property
    def rmse_relative(self) -> float:
        """Root mean square of the counts' relative errors."""
        return math.sqrt(sum(c.relative_error ** 2 for c in self.counts) / len(self.counts))


def load_calibration(path: Path) -> tuple[CalibrationFile, Scenario]:
    """The calibration file and its scenario; UserError for mistakes in either, and for parameter
    paths that do not name a number of the scenario."""
    spec: CalibrationFile = validate_model(CalibrationFile, read_yaml(path))
    scenario = load_scenario(path.parent / spec.scenario)
    problems = []
    for pid, p in spec.parameters.items():
        try:
            value = current_value(scenario, p.path)
        except KeyError as exc:
            problems.append(Problem(str(path), f"parameters.{pid}.path", str(exc.args[0])))
            continue
        if not p.min <= value <= p.max:
            problems.append(Problem(str(path), f"parameters.{pid}", f"the scenario's value {value:g} lies outside "
                                                                    f"[{p.min:g}, {p.max:g}]"))
    if problems:
        raise UserError(problems)
    return spec, scenario


def set_path(scenario: Scenario, path: str) -> str:
    """The `--set` path of a parameter path: segments by index instead of name."""
    parts = path.split(".")
    if parts[:2] == ["demand", "segments"] and len(parts) > 2 and not parts[2].isdigit():
        names = [s.name for s in scenario.model.demand.segments]
        if parts[2] not in names:
            raise KeyError(f"no segment '{parts[2]}' (segments: {', '.join(names)})")
        parts[2] = str(names.index(parts[2]))
    return ".".join(parts)


def _override(scenario: Scenario, dotted: str, value: float) -> tuple[str, object]:
    """A `--set` override giving the field at `dotted` (a --set path) `value`: at the field itself
    when the scenario's file writes its parent, else at the nearest ancestor it writes, with that
    ancestor's resolved content (a defaulted block such as demand.zones.access.walk is set whole)."""
    parts = dotted.split(".")
    written: object = scenario.doc.data
    depth = 0
    for part in parts[:-1]:
        key: int | str = int(part) if part.isdigit() else part
        if isinstance(written, dict) and key in written:
            written = written[key]
        elif isinstance(written, list) and isinstance(key, int) and key < len(written):
            written = written[key]
        else:
            break
        depth += 1
    if depth == len(parts) - 1:
        return dotted, value
    block: object = scenario.resolved()
    for part in parts[: depth + 1]:
        block = block[int(part)] if isinstance(block, list) else block[part]  # type: ignore[index]
    tree = copy.deepcopy(block)
    leaf = tree
    for part in parts[depth + 1: -1]:
        leaf = leaf[int(part)] if isinstance(leaf, list) else leaf[part]  # type: ignore[index]
    leaf[parts[-1]] = value  # type: ignore[index]
    return ".".join(parts[: depth + 1]), tree


def current_value(scenario: Scenario, path: str) -> float:
    """The scenario's number at a parameter path; KeyError saying why there is none."""
    return float(_number_at(scenario, path))


def _number_at(scenario: Scenario, path: str) -> int | float:
    """The scenario's number (a whole number for a count such as demand.total) at a parameter path."""
    node: object = scenario.resolved()
    for part in set_path(scenario, path).split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"'{path}' is not a field of the scenario (no '{part}' there)")
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise KeyError(f"'{path}' is not a number in the scenario")
    return node


def kpi_value(summary: dict, count: CalibrationCount, where: str) -> float:
    """A count's KPI in a summary; a share or count missing from a map of them (no one chose that
    mode) is 0; UserError for a path that is not in the summary."""
    node: object = summary
    parts = count.kpi.split(".")
    for i, part in enumerate(parts):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, dict) and i == len(parts) - 1 and parts[i - 1] in SHARE_MAPS:
            return 0.0
        else:
            known = ", ".join(sorted(node)) if isinstance(node, dict) else "nothing below it"
            raise UserError.single(where, f"counts.{count.id}.kpi", f"'{count.kpi}' is not in the run's summary "
                                                                     f"(at '{part}': {known})")
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise UserError.single(where, f"counts.{count.id}.kpi", f"'{count.kpi}' is not a number in the summary")
    return float(node)


def calibrate(spec_path: Path, evaluate: Evaluate, progress: Callable[[str], None] = lambda _: None) -> Fit:
    """Fit the parameters of the calibration file at `spec_path` (see the module docstring)."""
    spec, scenario = load_calibration(spec_path)
    total = spec.total or scenario.model.demand.total
    scale = scenario.model.demand.total / total
    paths = {pid: set_path(scenario, p.path) for pid, p in spec.parameters.items()}
    fitted_by = {c.fits: c for c in spec.counts}
    sizes = segment_sizes(scenario, spec)

    def trial(x: dict[str, float]) -> dict[str, float]:
        overrides = dict(_override(scenario, paths[pid], int(v) if pid in whole else v) for pid, v in x.items())
        if sizes or spec.total:
            overrides["demand.total"] = round(total * _demand_factor(scenario, sizes, x))
        summary = evaluate(scenario.with_overrides(overrides))
        return {pid: kpi_value(summary, c, str(spec_path)) * (scale if c.kind == "count" else 1.0) - c.value
                for pid, c in fitted_by.items()}

    whole = {pid for pid, p in spec.parameters.items() if isinstance(_number_at(scenario, p.path), int)}
    x = {pid: current_value(scenario, p.path) for pid, p in spec.parameters.items()}
    f = trial(x)
    trials, x_prev, f_prev = 1, dict(x), dict(f)
    while not _matched(f, fitted_by, spec.tolerance):
        if trials >= spec.max_iterations:
            raise UserError.single(str(spec_path), "max_iterations", f"not matched after {trials} runs: "
                                   + _off(f, fitted_by, x))
        x_new = {pid: _next(spec, fitted_by[pid], x, f, x_prev, f_prev, first=trials == 1) for pid in x}
        x_new = {pid: float(round(v)) if pid in whole else v for pid, v in x_new.items()}  # counts of commuters
        stuck = [pid for pid in x if x_new[pid] == x[pid] and not _close(f[pid], fitted_by[pid], spec.tolerance)]
        if stuck:
            pid = stuck[0]
            p = spec.parameters[pid]
            why = "held at its bound" if x[pid] in (p.min, p.max) else "its count stopped moving"
            raise UserError.single(str(spec_path), f"parameters.{pid}", f"{why} at {x[pid]:g} with its count still "
                                   "off: " + _off(f, fitted_by, x))
        x_prev, f_prev, x = x, f, x_new
        f = trial(x)
        trials += 1
        progress(f"run {trials}: " + ", ".join(f"{pid}={v:.6g}" for pid, v in x.items()))
        if trials == 2:
            _check_identified(spec_path, fitted_by, x_prev, x, f_prev, f)
    counts = [CountFit(c, c.value + f[c.fits]) for c in spec.counts]
    demand = round(scenario.model.demand.total * _demand_factor(scenario, sizes, x)) if sizes else None
    return Fit(spec, spec_path, scenario, x, counts, trials, scale, demand)


def segment_sizes(scenario: Scenario, spec: CalibrationFile) -> dict[str, int]:
    """The parameters that size a segment (its `share`), with the segment's index. Shares given as
    weights size their segments: the demand total moves with them, so that the other segments keep
    their commuters; fractions, which must add up to 1, cannot be fitted one by one (UserError)."""
    out = {}
    for pid, p in spec.parameters.items():
        parts = set_path(scenario, p.path).split(".")
        if parts[:2] == ["demand", "segments"] and parts[-1] == "share" and len(parts) == 4:
            if scenario.model.demand.segment_shares != "weights":
                raise UserError.single(str(scenario.path), "demand.segment_shares", f"parameter {pid} sizes a segment, "
                                       "but the shares are fractions that must add up to 1: give them as weights "
                                       "(segment_shares: weights) to fit a segment's size")
            out[pid] = int(parts[2])
    return out


def _demand_factor(scenario: Scenario, sizes: dict[str, int], x: dict[str, float]) -> float:
    """How much the demand total grows when the segments sized by parameters take the values `x`
    and the others keep theirs (their weights are relative: the total carries the sizes)."""
    shares = [seg.share for seg in scenario.model.demand.segments]
    new = list(shares)
    for pid, k in sizes.items():
        new[k] = x[pid]
    return sum(new) / sum(shares)


def _next(spec: CalibrationFile, count: CalibrationCount, x: dict, f: dict, x_prev: dict, f_prev: dict,
          first: bool) -> float:
    """The next trial value of the parameter `count` fits: its step on the first move, then the
    secant step; unchanged once its count is matched."""
    pid = count.fits
    p = spec.parameters[pid]
    if _close(f[pid], count, spec.tolerance):
        return x[pid]
    if first:
        step = p.step if p.step is not None else 0.05 * (p.max - p.min)
        guess = x[pid] + step if x[pid] + step <= p.max else x[pid] - step
    else:
        slope = (f[pid] - f_prev[pid]) / (x[pid] - x_prev[pid]) if x[pid] != x_prev[pid] else 0.0
        guess = x[pid] - f[pid] / slope if slope else x[pid]
    return min(max(guess, p.min), p.max)


def _check_identified(spec_path: Path, fitted_by: dict, x0: dict, x1: dict, f0: dict, f1: dict) -> None:
    """Refuse a parameter whose count did not move when it moved."""
    problems = [Problem(str(spec_path), f"counts.{c.id}", f"'{c.kpi}' stayed at {f0[pid] + c.value:g} when "
                        f"{pid} moved from {x0[pid]:g} to {x1[pid]:g}: this count cannot identify {pid}; fit it "
                        f"with a count that it moves")
                for pid, c in fitted_by.items() if x0[pid] != x1[pid] and f0[pid] == f1[pid]]
    if problems:
        raise UserError(problems)


def _close(f: float, count: CalibrationCount, tolerance: float) -> bool:
    return abs(f) <= tolerance * abs(count.value)


def _matched(f: dict, fitted_by: dict, tolerance: float) -> bool:
    return all(_close(f[pid], c, tolerance) for pid, c in fitted_by.items())


def _off(f: dict, fitted_by: dict, x: dict) -> str:
    return "; ".join(f"{c.id} model {c.value + f[pid]:.6g} against {c.value:.6g} ({pid}={x[pid]:.6g})"
                     for pid, c in fitted_by.items())
