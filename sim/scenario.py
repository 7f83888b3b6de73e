"""A scenario: the validated scenario file (with its parents and overrides) and the network it runs
on (with the scenario's changes applied and its policies compiled).

A network is a network file with the files it includes, or a GTFS feed (a zip or folder, imported
on its busiest service day). A network file may also name GTFS feeds (`gtfs:`, with a date, agencies
and routes): each is imported (sim/gtfs/) into a document that follows the file, and the YAML files'
items take precedence over the feeds' items of the same id (so a file can add an interchange to
imported lines, or give an imported operator its real tariff and facilities). A feed's media are
left out when the YAML files define media, and so are media an earlier feed defines.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import closures, input_warnings
from .bus_bridges import add_bus_bridges
from .errors import Problem, UserError
from .loading import Document, LoadedNetwork, read_network_documents, read_yaml, validate_model, validate_network
from .netbuild import build_network
from .network import Network
from .overlay import apply_network_changes, apply_set_overrides, merge_scenarios, rebase_paths
from .policies import apply_coordination
from .schema import MAX_PATH_CHARS, GtfsFeedSpec, NetworkFile, ScenarioFile
from .shipped import scenario_path

MAX_EXTENDS = 32
"""Most scenario files one scenario extends in a row (its parent, the parent's parent, ...)."""
NETWORK_LISTS = ("operators", "stations", "lines", "interchanges", "fare_integration", "coordination", "track_links")
_FEED_ARGUMENTS = {"--date": "date", "--agencies": "agencies", "--routes": "routes"}
log = logging.getLogger("sim")


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

    @cached_property
    def warnings(self) -> tuple[str, ...]:
        """Values the schema accepts but a modeller would hardly mean (see sim.input_warnings),
        each naming its file, line and field; logged when the scenario is loaded."""
        return tuple(input_warnings.input_warnings(self))

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
    """Read, validate and build a network file (with its includes and GTFS feeds) or a GTFS feed."""
    loaded = validate_network(read_network(Path(path)))
    return apply_coordination(build_network(loaded)), loaded


def is_feed(path: Path) -> bool:
    """A GTFS feed: a zip file, or a folder holding stops.txt (other folders are not read as
    networks: they get the reader's "is a directory" error)."""
    path = Path(path)
    return path.suffix.lower() == ".zip" or (os.path.isdir(path) and os.path.isfile(path / "stops.txt"))


def read_network(path: Path) -> list[Document]:
    """The documents of a network, root first: a network file and the files it includes, each
    followed by the networks imported from the GTFS feeds it names; or a GTFS feed by itself."""
    if is_feed(path):
        return [_feed_document(path, GtfsFeedSpec(feed=str(path)))]
    docs, feeds = [], []
    for doc in read_network_documents(path):
        docs.append(doc)
        entries = doc.data.get("gtfs") if isinstance(doc.data, dict) else None
        for i, entry in enumerate(entries if isinstance(entries, list) else ()):
            try:
                spec = GtfsFeedSpec.model_validate(entry)
            except ValidationError:
                continue  # reported, with its line, by the schema check of the file
            feeds.append(_feed_document(doc.path.parent / spec.feed, spec, doc, ("gtfs", i)))
            docs.append(feeds[-1])
    imported = {id(f) for f in feeds}
    files = [d for d in docs if id(d) not in imported]
    return [_without_defined(d, docs[:k], files) if id(d) in imported else d for k, d in enumerate(docs)]


def _feed_document(path: Path, spec: GtfsFeedSpec, doc: Document | None = None, loc: tuple = ()) -> Document:
    """The network imported from a feed, as a document of its own; problems with the feed's date,
    agencies or routes are placed where the network file gives them."""
    from .gtfs import import_feed

    if doc is not None and not os.path.exists(path):
        raise UserError([doc.problem(loc + ("feed",), f"GTFS feed '{spec.feed}' not found (looked for {path})")])
    try:
        data = import_feed(path, spec.date, spec.agencies, spec.routes)
    except UserError as err:
        if doc is None:
            raise
        raise UserError([doc.problem(loc + (_FEED_ARGUMENTS[p.path],), p.message)
                         if not p.file and p.path in _FEED_ARGUMENTS else p for p in err.problems]) from None
    log.info("%s", data["description"].splitlines()[0])
    return Document(path, data, {})


def _without_defined(feed: Document, before: list[Document], files: list[Document]) -> Document:
    """A feed's document without the items the network's YAML files define (same id), and without
    media when those files define media (or media an earlier document defines)."""
    defined = {(kind, item.get("id")) for d in files if isinstance(d.data, dict) for kind in NETWORK_LISTS
               for item in (d.data.get(kind) or ()) if isinstance(item, dict)}
    data: dict[str, Any] = {kind: [x for x in value if (kind, x["id"]) not in defined] if kind in NETWORK_LISTS
                            else value for kind, value in feed.data.items()}
    yaml_media = any(isinstance(d.data, dict) and d.data.get("media") for d in files)
    seen = {m for d in before if isinstance(d.data, dict) for m in (d.data.get("media") or {})}
    data["media"] = {} if yaml_media else {k: v for k, v in data["media"].items() if k not in seen}
    return Document(feed.path, data, feed.lines)


def source_files(loaded: LoadedNetwork) -> tuple[Path, ...]:
    """The files a network was read from (a feed folder as its .txt files)."""
    return tuple(p for _, d in loaded.files for p in (sorted(d.path.glob("*.txt")) if d.path.is_dir() else [d.path]))


def read_scenario_document(path: Path, overrides: dict[str, Any] | None = None) -> tuple[Document, tuple[Path, ...]]:
    """The scenario at `path` merged over the scenarios it `extends` (recursively, at most
    MAX_EXTENDS of them), with `--set` overrides applied and relative paths made relative to
    `path`'s directory; and the parent files, nearest first."""
    chain = [read_yaml(path)]
    seen = {chain[0].path.resolve()}
    while isinstance(chain[-1].data, dict) and "extends" in chain[-1].data:
        doc = chain[-1]
        parent = doc.data["extends"]
        if not isinstance(parent, str) or not parent or len(parent) > MAX_PATH_CHARS:
            raise UserError([doc.problem(("extends",), "expected the path of the scenario file this one extends "
                                                       f"(at most {MAX_PATH_CHARS:,} characters)")])
        target = (doc.path.parent / parent).resolve()
        if not os.path.exists(target):  # False, not an OSError, for a name too long to look up
            raise UserError([doc.problem(("extends",), f"scenario file '{parent}' not found (looked for {target})")])
        if target in seen:
            raise UserError([doc.problem(("extends",), f"extends cycle: '{parent}' extends this file again")])
        if len(chain) > MAX_EXTENDS:
            raise UserError([doc.problem(("extends",), f"{path} extends more than {MAX_EXTENDS} scenario files in a "
                                                       f"row ({MAX_EXTENDS} up to this one, which extends '{parent}'); "
                                                       f"at most {MAX_EXTENDS} may be chained")])
        seen.add(target)
        chain.append(read_yaml(target))
    for doc in chain:
        if not isinstance(doc.data, dict):
            raise UserError.single(str(doc.path), "", "expected a mapping of fields at the top level")
    merged = merge_scenarios(chain)
    if overrides:
        merged = apply_set_overrides(merged, overrides)
    return rebase_paths(merged, path.parent), tuple(d.path for d in chain[1:])


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, merge, override, validate and cross-check a scenario and its network; UserError if
    wrong, each problem placed in the file (or `--set`) where the faulty value was written. A bare
    name (`baseline`) that is not a file is the shipped scenario of that name."""
    path = scenario_path(path)
    doc, parents = read_scenario_document(path, overrides)
    model = validate_model(ScenarioFile, doc)
    net_path = path.parent / model.network
    if not os.path.exists(net_path):  # False, not an OSError, for a name too long to look up
        raise UserError([doc.problem(("network",), f"network file '{model.network}' not found (looked for {net_path})")])
    docs = read_network(net_path)
    if any(isinstance(d.data, dict) and "demand" in d.data for d in docs):
        raise UserError([doc.problem(("network",), f"'{model.network}' is a scenario file, not a network file")])
    loaded = add_bus_bridges(validate_network(apply_network_changes(docs, doc)), model.disruptions, str(path))
    network = apply_coordination(build_network(loaded))
    if model.simulation.end is not None and model.simulation.end < model.period.end:
        raise UserError([doc.problem(("simulation", "end"), "must not be before period.end")])
    closures.resolve(network, model.disruptions, doc)
    scenario = Scenario(path, model, doc.data, network, source_files(loaded), doc, dict(overrides or {}), loaded,
                        parents)
    for warning in scenario.warnings:
        log.warning("%s", warning)
    return scenario


__all__ = ["Scenario", "load_scenario", "load_network", "NetworkFile", "Problem"]
