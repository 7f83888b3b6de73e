"""A scenario: the validated scenario file with its overrides, and the network it runs on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Problem, UserError
from .loading import Document, LoadedNetwork, apply_overrides, load_network_files, load_scenario_file
from .network import Network, build_network
from .schema import ScenarioFile


@dataclass(frozen=True)
class Scenario:
    path: Path
    model: ScenarioFile
    raw: dict
    """The scenario file's content with overrides applied (before defaults)."""
    network: Network
    network_files: tuple[Path, ...]
    doc: Document = field(repr=False)
    overrides: dict[str, Any] = field(default_factory=dict)

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


def load_network(path: str | Path) -> tuple[Network, LoadedNetwork]:
    loaded = load_network_files(Path(path))
    return build_network(loaded), loaded


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, override, validate and cross-check a scenario and its network; UserError if wrong."""
    path = Path(path)
    loaded = load_scenario_file(path, overrides or {})
    net_path = (path.parent / loaded.model.network)
    if not net_path.exists():
        raise UserError([Problem(str(path), "network", f"network file '{loaded.model.network}' not found "
                                                       f"(looked for {net_path})", loaded.doc.line_of(("network",)))])
    network, files = load_network(net_path)
    if loaded.model.simulation.end is not None and loaded.model.simulation.end < loaded.model.period.end:
        raise UserError.single(str(path), "simulation.end", "must not be before period.end",
                               loaded.doc.line_of(("simulation", "end")))
    return Scenario(path, loaded.model, loaded.raw, network, tuple(d.path for _, d in files.files), loaded.doc,
                    dict(overrides or {}))


__all__ = ["Scenario", "load_scenario", "load_network", "apply_overrides"]
