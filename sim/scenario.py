"""A scenario: the validated scenario file (with its parents and overrides) and the network it runs
on (with the scenario's changes applied and its policies compiled)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import disruptions
from .errors import Problem, UserError
from .loading import Document, LoadedNetwork, read_network_documents, read_yaml, validate_model, validate_network
from .network import Network, build_network
from .overlay import apply_network_changes, apply_set_overrides, merge_scenarios, rebase_paths
from .policies import apply_coordination
from .schema import NetworkFile, ScenarioFile

NETWORK_LISTS = ("operators", "stations", "lines", "interchanges", "fare_integration", "coordination", "track_links")


@dataclass(frozen=True)
class Scenario:
    path: Path
    model: ScenarioFile
    raw: dict
    """The scenario's content after merging its parents and applying overrides (before defaults)."""
    network: Network
    network_files: tuple[Path, ...]
    doc: Document = field(repr=False)
    overrides: dict[str, Any] = field(default_factory=dict)
    loaded_network: LoadedNetwork | None = field(default=None, repr=False)
    extends: tuple[Path, ...] = ()
    """The scenario files this one extends, nearest first."""

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def t_end(self) -> float:
        """End of the simulation (s): simulation.end, or period end + 2 h."""
        return self.model.simulation.end if self.model.simulation.end is not None else self.model.period.end + 7200.0

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A new scenario with more dotted-path overrides, e.g. {"demand.total": 200_000}."""
        merged = {**self.overrides, **overrides}
        return load_scenario(self.path, merged)

    def resolved(self) -> dict:
        """The fully resolved scenario (defaults filled in), as plain JSON-able data."""
        return self.model.model_dump(mode="json", by_alias=True)

    def resolved_network(self) -> dict:
        """The network as run: every file merged into one, the scenario's changes applied, defaults
        filled in (policies as written; compiled results such as coordination offsets are in the
        run's summary)."""
        out: dict[str, Any] = {"schema_version": 1, "name": self.network.name, "media": {}}
        out.update({kind: [] for kind in NETWORK_LISTS})
        for model, _ in (self.loaded_network.files if self.loaded_network else ()):
            data = model.model_dump(mode="json", by_alias=True, exclude_none=True)
            out["media"].update(data["media"])
            for kind in NETWORK_LISTS:
                out[kind].extend(data[kind])
        return out


def load_network(path: str | Path) -> tuple[Network, LoadedNetwork]:
    """Read, validate and build a network file (and its includes)."""
    loaded = validate_network(read_network_documents(Path(path)))
    return apply_coordination(build_network(loaded)), loaded


def read_scenario_document(path: Path, overrides: dict[str, Any] | None = None) -> tuple[Document, tuple[Path, ...]]:
    """The scenario at `path` merged over the scenarios it `extends` (recursively), with `--set`
    overrides applied and relative paths made relative to `path`'s directory; and the parent files,
    nearest first."""
    chain = [read_yaml(path)]
    while isinstance(chain[-1].data, dict) and "extends" in chain[-1].data:
        doc = chain[-1]
        parent = doc.data["extends"]
        if not isinstance(parent, str) or not parent:
            raise UserError([doc.problem(("extends",), "expected the path of the scenario file this one extends")])
        target = (doc.path.parent / parent).resolve()
        if not target.exists():
            raise UserError([doc.problem(("extends",), f"scenario file '{parent}' not found (looked for {target})")])
        if target in [d.path.resolve() for d in chain]:
            raise UserError([doc.problem(("extends",), f"extends cycle: '{parent}' extends this file again")])
        chain.append(read_yaml(target))
    for doc in chain:
        if not isinstance(doc.data, dict):
            raise UserError.single(str(doc.path), "", "expected a mapping of fields at the top level")
    merged = chain[-1]
    for child in reversed(chain[:-1]):
        merged = merge_scenarios(merged, child)
    if overrides:
        merged = apply_set_overrides(merged, overrides)
    return rebase_paths(merged, path.parent), tuple(d.path for d in chain[1:])


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, merge, override, validate and cross-check a scenario and its network; UserError if
    wrong, each problem placed in the file (or `--set`) where the faulty value was written."""
    path = Path(path)
    doc, parents = read_scenario_document(path, overrides)
    model = validate_model(ScenarioFile, doc)
    net_path = path.parent / model.network
    if not net_path.exists():
        raise UserError([doc.problem(("network",), f"network file '{model.network}' not found (looked for {net_path})")])
    docs = read_network_documents(net_path)
    if any(isinstance(d.data, dict) and "demand" in d.data for d in docs):
        raise UserError([doc.problem(("network",), f"'{model.network}' is a scenario file, not a network file")])
    loaded = validate_network(apply_network_changes(docs, doc))
    network = apply_coordination(build_network(loaded))
    if model.simulation.end is not None and model.simulation.end < model.period.end:
        raise UserError([doc.problem(("simulation", "end"), "must not be before period.end")])
    disruptions.resolve(network, model.disruptions, doc)
    return Scenario(path, model, doc.data, network, tuple(d.path for _, d in loaded.files), doc,
                    dict(overrides or {}), loaded, parents)


__all__ = ["Scenario", "load_scenario", "load_network", "NetworkFile", "Problem"]
