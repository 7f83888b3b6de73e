"""Sweep files: a base scenario, the parameters to vary, replications, and their expansion into
runs (a pure function: the same file always gives the same points and run ids).

Parameters are dotted paths into the scenario, as for `--set` (network changes and policy switches
included: `changes.interchanges.huaqiao.policy.security`). The points are the product of the axes:
each `grid` path (its values), each `zip` group (its lists taken position by position, optionally
named by a `label` list) and the `sample` (a random or Latin hypercube sample of ranges). Point
k is `pNNN`; replication r of it is run `pNNN-rRRR` with the sweep's seed and replication r, so
every point sees the same commuters and service times (common random numbers).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ..errors import Problem, UserError
from ..loading import Document, read_yaml, validate_model
from ..schema import MAX_SEED, FilePath, Id, Int, Real, Ref, Strict, Text

TABLE_NAMES = ("trips", "legs", "trains", "facilities", "fares")
MAX_RUNS = 10_000
"""Runs (points x replications) a sweep may have: at a few seconds each, days of work on a machine,
and a summary table of a few hundred MB; beyond it, split the sweep."""
DEFAULT_KPIS = ("travel_time_mean_s", "travel_time_p95_s", "wait_mean_s", "transfer_mean_s", "denied_share",
                "fare_mean_cny")


class SampleSpec(Strict):
    """`count` points drawn over `ranges` (path -> [low, high]) by `method`: `random` (uniform) or
    `lhs` (Latin hypercube: each range cut into `count` equal strata, one point in each); paths in
    `integer` are rounded to whole numbers."""

    method: Literal["random", "lhs"] = "lhs"
    count: Annotated[Int, Field(ge=1, le=10_000)]
    ranges: dict[Ref, tuple[Real, Real]]
    integer: list[Ref] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ranges(self) -> SampleSpec:
        if not self.ranges:
            raise ValueError("'ranges' names no parameter")
        for path, (low, high) in self.ranges.items():
            if not (np.isfinite(low) and np.isfinite(high)) or high < low:
                raise ValueError(f"range of '{path}': expected [low, high] with low <= high")
        unknown = set(self.integer) - set(self.ranges)
        if unknown:
            raise ValueError(f"'integer' names paths without a range: {', '.join(sorted(unknown))}")
        return self


class SweepFile(Strict):
    """A sweep file (see the module docstring and README "Sweeps")."""

    schema_version: Literal[1] = 1
    name: Id
    description: Text | None = None
    scenario: FilePath
    """The base scenario, relative to the sweep file."""
    set: dict[Ref, Any] = Field(default_factory=dict)
    """Overrides applied to every point (dotted paths, as `--set`)."""
    grid: dict[Ref, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    zip: list[dict[Ref, Annotated[list[Any], Field(min_length=1)]]] = Field(default_factory=list)
    sample: SampleSpec | None = None
    replications: Annotated[Int, Field(ge=1, le=1000)] = 1
    seed: Annotated[Int, Field(ge=0, le=MAX_SEED)] | None = None
    """Default: the base scenario's seed."""
    keep_tables: bool | list[Literal["trips", "legs", "trains", "facilities", "fares"]] = False
    """Tables written into each run directory (large sweeps keep only summaries)."""
    reference: dict[Ref, Any] | None = None
    """Parameter values of the point others are compared with (default: the first point)."""
    kpis: list[Ref] = Field(default_factory=lambda: list(DEFAULT_KPIS))
    """KPIs (flattened summary names) drawn against the parameters."""

    @model_validator(mode="after")
    def _axes(self) -> SweepFile:
        for group in self.zip:
            lengths = {len(v) for v in group.values()}
            if len(lengths) > 1:
                raise ValueError("the lists of a zip group must have one length")
            if set(group) == {"label"}:
                raise ValueError("a zip group needs a parameter besides 'label'")
        paths = list(self.grid) + [p for g in self.zip for p in g if p != "label"] + \
            (list(self.sample.ranges) if self.sample else [])
        twice = sorted({p for p in paths if paths.count(p) > 1})
        if twice:
            raise ValueError(f"parameter(s) varied twice: {', '.join(twice)}")
        if not paths:
            raise ValueError("the sweep varies nothing: give 'grid', 'zip' or 'sample'")
        values = [self.set, self.grid, self.zip, self.reference]
        if not all(_finite(v) for v in values):
            raise ValueError("values must be finite numbers (not .nan or .inf)")
        return self


def _finite(value: Any) -> bool:
    """Whether every number in `value` (nested lists and mappings) is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    return True


@dataclass(frozen=True)
class Point:
    id: str
    values: dict[str, Any]
    """Parameter path -> value."""
    label: str
    """Readable name: each axis's label or value."""
    coords: tuple[tuple[str, str, float | None], ...] = ()
    """Per dimension (a grid path, a zip group, a sampled path): its name, this point's label on it
    and its number when it is numeric."""


@dataclass(frozen=True)
class Run:
    id: str
    point: Point
    replication: int


@dataclass(frozen=True)
class Sweep:
    path: Path
    model: SweepFile
    doc: Document
    points: tuple[Point, ...]

    @property
    def scenario_path(self) -> Path:
        return (self.path.parent / self.model.scenario).resolve()

    @property
    def parameters(self) -> list[str]:
        return list(self.points[0].values) if self.points else []

    def runs(self) -> list[Run]:
        return [Run(f"{p.id}-r{r:03d}", p, r) for p in self.points for r in range(self.model.replications)]

    def overrides(self, point: Point) -> dict[str, Any]:
        return {**self.model.set, **point.values}

    @property
    def reference(self) -> Point:
        """The point the others are compared with."""
        return _matching(self.points, self.model.reference) or self.points[0]


def _matching(points: tuple[Point, ...], want: dict[str, Any] | None) -> Point | None:
    if want is None:
        return None
    return next((p for p in points if all(_same(p.values.get(k), v) for k, v in want.items())), None)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def point_count(model: SweepFile) -> int:
    """How many points `model` expands to (without expanding it)."""
    count = 1
    for values in model.grid.values():
        count *= len(values)
    for group in model.zip:
        count *= len(next(iter(group.values())))
    return count * (model.sample.count if model.sample is not None else 1)


def expand(model: SweepFile, seed: int) -> tuple[Point, ...]:
    """The points of a sweep, in a fixed order (axes as written: grid paths, zip groups, sample)."""
    axes: list[list[tuple[dict[str, Any], list[tuple[str, str, float | None]]]]] = []
    for path, listed in model.grid.items():
        name = path.rsplit(".", 1)[-1]
        axes.append([({path: v}, [(name, _show(v), _number(v))]) for v in listed])
    for group in model.zip:
        n = len(next(iter(group.values())))
        labels = group.get("label")
        params = [p for p in group if p != "label"]
        name = "+".join(dict.fromkeys(p.rsplit(".", 1)[-1] for p in params))
        axes.append([({p: group[p][i] for p in params},
                      [(name, str(labels[i]) if labels else ", ".join(_show(group[p][i]) for p in params),
                        None if labels or len(params) > 1 else _number(group[params[0]][i]))])
                     for i in range(n)])
    if model.sample is not None:
        axes.append([(v, [(p.rsplit(".", 1)[-1], _show(x), float(x)) for p, x in v.items()])
                     for v in sample(model.sample, seed)])
    combos = list(itertools.product(*axes))
    width = max(3, len(str(len(combos) - 1)))
    points = []
    for k, combo in enumerate(combos):
        values: dict[str, Any] = {}
        coords: list[tuple[str, str, float | None]] = []
        for v, c in combo:
            values.update(v)
            coords.extend(c)
        label = ", ".join(f"{name}={lab}" for name, lab, _ in coords)
        points.append(Point(f"p{k:0{width}d}", values, label, tuple(coords)))
    return tuple(points)


def sample(spec: SampleSpec, seed: int) -> list[dict[str, float]]:
    """The sampled parameter values (random or Latin hypercube), from a generator seeded by `seed`."""
    rng = np.random.default_rng([seed, 0x5EE9])
    paths = list(spec.ranges)
    n = spec.count
    if spec.method == "lhs":
        unit = np.column_stack([(rng.permutation(n) + rng.random(n)) / n for _ in paths])
    else:
        unit = rng.random((n, len(paths)))
    out = []
    for row in unit:
        point = {}
        for p, u in zip(paths, row):
            low, high = spec.ranges[p]
            x = low + float(u) * (high - low)
            point[p] = int(round(x)) if p in spec.integer else round(x, 6)
        out.append(point)
    return out


def load_sweep(path: str | Path, defaults: dict[str, Any] | None = None) -> Sweep:
    """Read, validate and expand a sweep file; UserError naming the sweep file, field and line for a
    mistake, including a parameter path that does not exist in the base scenario. `defaults`:
    overrides for every point that the sweep file's `set` does not give itself."""
    path = Path(path)
    if not path.is_file():
        raise UserError.single(str(path), "", "sweep file not found")
    doc = read_yaml(path)
    model = validate_model(SweepFile, doc)
    if defaults:
        model = model.model_copy(update={"set": {**defaults, **model.set}})
    runs = point_count(model) * model.replications
    if runs > MAX_RUNS:
        raise UserError([doc.problem((), f"the sweep has {runs:,} runs ({point_count(model):,} points x "
                                         f"{model.replications} replications); at most {MAX_RUNS:,} are allowed: "
                                         "split it into several sweeps")])
    scenario = (path.parent / model.scenario).resolve()
    if not scenario.is_file():
        raise UserError([doc.problem(("scenario",), f"scenario file '{model.scenario}' not found (looked for {scenario})")])
    from ..scenario import load_scenario  # here: the scenario loader pulls in the network builder

    base = load_scenario(scenario, model.set)
    seed = base.model.seed if model.seed is None else model.seed
    points = expand(model, seed)
    _check_paths(model, doc, scenario)
    if model.reference is not None and _matching(points, model.reference) is None:
        raise UserError([doc.problem(("reference",), "no point has these parameter values")])
    return Sweep(path, model, doc, points)


_PATH_MISTAKES = ("unknown field", "does not exist in the scenario", "cannot set", "expected a dotted path",
                  "in the network; ")


def _check_paths(model: SweepFile, doc: Document, scenario: Path) -> None:
    """Each varied path must exist in the scenario (a wrong value is only the run's failure)."""
    from ..scenario import load_scenario

    where: dict[str, tuple] = {p: ("grid", p) for p in model.grid}
    for i, group in enumerate(model.zip):
        where.update({p: ("zip", i, p) for p in group if p != "label"})
    if model.sample is not None:
        where.update({p: ("sample", "ranges", p) for p in model.sample.ranges})
    problems: list[Problem] = []
    for path, loc in where.items():
        listed = model.grid.get(path) or next((g[path] for g in model.zip if path in g), None)
        if not listed:
            assert model.sample is not None  # neither in grid nor in zip: `where` took it from the sample's ranges
            listed = [model.sample.ranges[path][0]]
        first = listed[0]
        try:
            load_scenario(scenario, {**model.set, path: first})
        except UserError as err:
            bad = [p for p in err.problems if any(m in p.message for m in _PATH_MISTAKES)]
            if bad:
                problems.append(doc.problem(loc, f"'{path}' is not a parameter of the scenario: {bad[0].message}"))
    if problems:
        raise UserError(problems)


def check_points(sweep: Sweep) -> list[Problem]:
    """Every point's scenario loaded and cross-checked against its network; a problem for each
    point that cannot run (named by the point's id and label, at the sweep file)."""
    from ..api import check_scenario
    from ..scenario import load_scenario

    problems = []
    for point in sweep.points:
        try:
            check_scenario(load_scenario(sweep.scenario_path, sweep.overrides(point)))
        except UserError as err:
            first = err.problems[0]
            more = f" (and {len(err.problems) - 1} more problems)" if len(err.problems) > 1 else ""
            problems.append(Problem(str(sweep.path), f"points.{point.id}",
                                    f"cannot run ({point.label}): {first}{more}"))
    return problems
