"""The calibrated scenario: a variant of the scenario calibrated, with the fitted numbers and, in its
header, every count it was fitted to (observed, model, error, source)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from .fit import Fit

HEADER = "# Calibrated scenario written by `run_sim.py calibrate`"
"""The first line of a calibrated scenario (calibrate --force replaces only a file that opens so)."""


def fit_table(fit: Fit) -> list[list[str]]:
    """Rows of the fit: count, KPI, observed, model, relative error (%), GEH (counts)."""
    rows = []
    for c in fit.counts:
        geh = c.geh
        rows.append([c.count.id, c.count.kpi, f"{c.count.value:,.6g}", f"{c.model:,.6g}",
                     f"{100 * c.relative_error:+.2f}", "" if geh is None else f"{geh:.2f}"])
    return rows


def scenario_text(fit: Fit, out: Path, revision: str) -> str:
    """The calibrated scenario as YAML text, to be written at `out` (its `extends` is relative to
    it). Text from the inputs (ids are checked; sources are free text) reaches the header only as
    JSON strings, so a source cannot end a comment line and become YAML."""
    spec = fit.spec
    runs = (f"runs of {spec.total:,} commuters (counts of commuters scaled by {fit.scale:.6g} to the scenario's "
            "demand)" if spec.total else "runs of the scenario's demand")
    lines = [HEADER, f"# from {json.dumps(str(fit.spec_path))} at revision {revision}: {fit.trials} {runs}, seed "
             f"{fit.scenario.model.seed}; the counts' relative errors have a root mean square of "
             f"{100 * fit.rmse_relative:.2f} %.", "#", "# Counts (observed | model after the fit | error % | GEH):"]
    for row, c in zip(fit_table(fit), fit.counts):
        lines.append(f"#   {row[0]}: {row[1]} | {row[2]} | {row[3]} | {row[4]} %" + (f" | GEH {row[5]}" if row[5] else ""))
        lines.append(f"#     fits {c.count.fits}; source: {json.dumps(c.count.source, ensure_ascii=False)}")
    lines.append("#")
    body: dict = {"schema_version": 1,
                  "extends": os.path.relpath(fit.scenario.path.resolve(), out.parent.resolve()),
                  "name": spec.name}
    if spec.description:
        body["description"] = spec.description
    if fit.demand_total is not None:
        _put(body, ["demand", "total"], fit.demand_total)
    for pid, value in fit.values.items():
        _put(body, spec.parameters[pid].path.split("."), int(value) if value.is_integer() else round(value, 6))
    return "\n".join(lines) + "\n" + yaml.safe_dump(body, allow_unicode=True, sort_keys=False)


def _put(tree: dict, parts: list[str], value: float) -> None:
    """Set `value` at the dotted path `parts` of nested mappings (segments by name: a variant merges
    segments by name)."""
    for part in parts[:-1]:
        tree = tree.setdefault(part, {})
    tree[parts[-1]] = value


def is_calibrated_scenario(path: Path) -> bool:
    """Whether `path` is a regular file (not a link) written by calibrate."""
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(len(HEADER.encode("utf-8"))).decode("utf-8", "replace") == HEADER
