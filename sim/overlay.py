"""Patching parsed YAML documents while remembering where every value was written.

Three things patch a document: a scenario that `extends:` another (its fields merge over the
parent's), `--set KEY=VALUE` on the command line, and a scenario's `changes:` section, which edits
the network by id. Patches are JSON merge patches (RFC 7396: mappings merge key by key, anything
else replaces) with one extension: in the network, lists of items with ids (operators, stations,
lines, interchanges, fare rules, coordination rules, a line's patterns, an interchange's paths) are
patched as mappings from id to item, so `lines: {SH11: {capacity: 2000}}` edits one line, an id not
yet there adds an item, and `null` removes one.

Every patched value is recorded in the document's overlays with the file, line and field path it
came from, so a mistake in a patch is reported where the user wrote it.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from .errors import Problem, UserError
from .loading import Document, Source, format_loc

NETWORK_KINDS = ("media", "operators", "stations", "lines", "interchanges", "fare_integration", "coordination",
                 "track_links")
"""Top-level sections of a network file that a scenario's `changes` can edit, by id."""

KEYED_LISTS: dict[tuple, str] = {
    ("operators",): "id", ("stations",): "id", ("lines",): "id", ("interchanges",): "id",
    ("fare_integration",): "id", ("coordination",): "id", ("track_links",): "id",
    ("lines", "*", "patterns"): "id", ("interchanges", "*", "paths"): "name",
}
"""Lists of a network file whose items a patch addresses by id (the field named here)."""


def _keyed_field(loc: tuple) -> str | None:
    for pattern, key in KEYED_LISTS.items():
        if len(pattern) == len(loc) and all(p == "*" or p == x for p, x in zip(pattern, loc)):
            return key
    return None


class Patcher:
    """A mutable copy of a document that patches are applied to (see the module docstring)."""

    def __init__(self, doc: Document, keyed: bool = False) -> None:
        self.path = doc.path
        self.data = copy.deepcopy(doc.data)
        self.lines = dict(doc.lines)
        self.overlays = dict(doc.overlays)
        self.keyed = keyed
        self.problems: list[Problem] = []

    def document(self) -> Document:
        return Document(self.path, self.data, self.lines, self.overlays)

    # -- bookkeeping of origins -------------------------------------------------------------------

    def _forget(self, loc: tuple) -> None:
        """Drop the recorded origins of `loc` and everything under it."""
        n = len(loc)
        self.lines = {k: v for k, v in self.lines.items() if k[:n] != loc}
        self.overlays = {k: v for k, v in self.overlays.items() if k[:n] != loc}

    def _record(self, loc: tuple, value: Any, src: Document, src_loc: tuple) -> None:
        """Record that `value`, now at `loc`, was written at `src_loc` of `src` (all its nodes)."""
        self.overlays[loc] = src.source(src_loc)
        if isinstance(value, dict):
            for k, v in value.items():
                self._record(loc + (k,), v, src, src_loc + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self._record(loc + (i,), v, src, src_loc + (i,))

    def _shift_after_removal(self, list_loc: tuple, removed: int) -> None:
        """Renumber the origins of the items after a removed list item."""
        n = len(list_loc)

        def moved(k: tuple) -> tuple:
            if k[:n] == list_loc and len(k) > n and isinstance(k[n], int) and k[n] > removed:
                return k[:n] + (k[n] - 1,) + k[n + 1:]
            return k

        self.lines = {moved(k): v for k, v in self.lines.items()}
        self.overlays = {moved(k): v for k, v in self.overlays.items()}

    # -- patching ---------------------------------------------------------------------------------

    def replace(self, loc: tuple, value: Any, src: Document, src_loc: tuple) -> None:
        """Put `value` at `loc` (whose parent must exist), replacing whatever was there."""
        value = copy.deepcopy(value)
        self.get(loc[:-1])[loc[-1]] = value
        self._forget(loc)
        self._record(loc, value, src, src_loc)

    def get(self, loc: tuple) -> Any:
        cur = self.data
        for part in loc:
            cur = cur[part]
        return cur

    def merge(self, loc: tuple, patch: Any, src: Document, src_loc: tuple, null_deletes: bool = True) -> None:
        """Merge `patch` (written at `src_loc` of `src`) into the value at `loc`.

        Mappings merge key by key; a keyed list (see KEYED_LISTS, when this patcher is `keyed`)
        takes a mapping from id to item; `null` removes a key (when `null_deletes`) or an item;
        anything else replaces the value."""
        target = self.get(loc)
        keyed = _keyed_field(loc) if self.keyed else None
        if isinstance(patch, dict) and isinstance(target, list) and keyed is not None:
            self._merge_keyed(loc, keyed, patch, src, src_loc, null_deletes)
        elif isinstance(patch, dict) and isinstance(target, dict):
            for k, v in patch.items():
                if v is None and null_deletes:
                    if k in target:
                        del target[k]
                        self._forget(loc + (k,))
                elif k in target and isinstance(v, dict) and isinstance(target[k], (dict, list)):
                    self.merge(loc + (k,), v, src, src_loc + (k,), null_deletes)
                else:
                    self.replace(loc + (k,), v, src, src_loc + (k,))
        else:
            self.replace(loc, patch, src, src_loc)

    def _merge_keyed(self, loc: tuple, key_field: str, patch: dict, src: Document, src_loc: tuple,
                     null_deletes: bool) -> None:
        items = self.get(loc)
        for ident, v in patch.items():
            at = next((i for i, item in enumerate(items) if isinstance(item, dict) and item.get(key_field) == ident),
                      None)
            where = src_loc + (ident,)
            if v is None:
                if at is None:
                    self.problems.append(src.problem(where, f"there is no item '{ident}' here to remove"))
                    continue
                del items[at]
                self._forget(loc + (at,))
                self._shift_after_removal(loc, at)
            elif not isinstance(v, dict):
                self.problems.append(src.problem(where, "expected a mapping of fields (or null to remove the item)"))
            elif key_field in v and v[key_field] != ident:
                self.problems.append(src.problem(where + (key_field,), f"an item's {key_field} cannot be changed "
                                                                      f"(it is addressed as '{ident}')"))
            elif at is None:
                items.append({key_field: ident, **copy.deepcopy(v)})
                self._record(loc + (len(items) - 1,), items[-1], src, where)
                self.overlays[loc + (len(items) - 1, key_field)] = src.source(where)
            else:
                self.merge(loc + (at,), v, src, where, null_deletes)

    def raise_if_problems(self) -> None:
        if self.problems:
            raise UserError(self.problems)


# ---------------------------------------------------------------------------------------------------
# Scenario documents: extends and --set

PATH_FIELDS = (("network",),)
"""Scenario fields holding a path, relative to the file that writes them."""


def _path_locs(data: Any) -> list[tuple]:
    """Field paths of every path-valued field in scenario data (network, segments' od_table)."""
    out = [loc for loc in PATH_FIELDS if isinstance(data, dict) and loc[0] in data]
    segments = data.get("demand", {}).get("segments") if isinstance(data, dict) and isinstance(
        data.get("demand"), dict) else None
    if isinstance(segments, list):
        out += [("demand", "segments", i, "od_table") for i, s in enumerate(segments)
                if isinstance(s, dict) and isinstance(s.get("od_table"), str)]
    return out


def rebase_paths(doc: Document, base_dir: Path) -> Document:
    """Rewrite relative paths written in other files (a parent scenario, `--set`) so that they are
    relative to `base_dir`, the directory of the scenario being run."""
    patcher = Patcher(doc)
    for loc in _path_locs(doc.data):
        value = patcher.get(loc)
        src = doc.source(loc)
        if not isinstance(value, str) or os.path.isabs(value):
            continue
        written_in = Path.cwd() if src.file.startswith("--set") else Path(src.file).parent
        if written_in.resolve() != base_dir.resolve():
            parent = patcher.get(loc[:-1])
            parent[loc[-1]] = os.path.relpath(written_in / value, base_dir)
    return patcher.document()


def merge_scenarios(parent: Document, child: Document) -> Document:
    """The child scenario's fields merged over its parent's (null removes a field, except inside
    `changes`, where null means "remove from the network" and is kept)."""
    patcher = Patcher(parent)
    for k, v in child.data.items():
        if k != "extends":
            patcher.merge((), {k: v}, child, (), null_deletes=k != "changes")
    patcher.data.pop("extends", None)
    patcher._forget(("extends",))
    return patcher.document()


def parse_dotted(dotted: str) -> tuple:
    """'demand.segments.0.share' -> ('demand', 'segments', 0, 'share')."""
    return tuple(int(p) if p.isdigit() else p for p in dotted.split("."))


def apply_set_overrides(doc: Document, overrides: dict[str, Any]) -> Document:
    """`--set` overrides applied by dotted path (list items by index); missing mappings on the way
    are created. Each value is recorded as written by `--set` at its dotted path."""
    patcher = Patcher(doc)
    problems: list[Problem] = []
    for dotted, value in overrides.items():
        if not dotted or any(p == "" for p in dotted.split(".")):
            problems.append(Problem("--set", dotted, "expected a dotted path such as demand.total"))
            continue
        loc = parse_dotted(dotted)
        src = Document(Path("--set"), {}, {}, {(): Source(f"--set {dotted}", None, ())})
        cur = patcher.data
        ok = True
        for i, part in enumerate(loc[:-1]):
            if isinstance(cur, dict):
                if not isinstance(cur.get(part), (dict, list)):
                    patcher.replace(loc[: i + 1], {}, src, loc[: i + 1])
                cur = cur[part]
            elif isinstance(cur, list) and isinstance(part, int) and part < len(cur) and isinstance(
                    cur[part], (dict, list)):
                cur = cur[part]
            else:
                problems.append(Problem("--set", dotted, f"'{format_loc(loc[: i + 1])}' does not exist in the scenario"))
                ok = False
                break
        if not ok:
            continue
        last = loc[-1]
        if isinstance(cur, dict) or (isinstance(cur, list) and isinstance(last, int) and last < len(cur)):
            patcher.replace(loc, value, src, loc)
        else:
            problems.append(Problem("--set", dotted, f"cannot set '{last}' here"))
    if problems:
        raise UserError(problems)
    return patcher.document()


def apply_overrides(data: dict, overrides: dict[str, Any]) -> dict:
    """A copy of plain `data` with dotted-path overrides applied (see apply_set_overrides)."""
    return apply_set_overrides(Document(Path("--set"), data, {}), overrides).data


# ---------------------------------------------------------------------------------------------------
# Network changes


def apply_network_changes(docs: list[Document], scenario: Document) -> list[Document]:
    """The network documents (root first) with the scenario's `changes` applied by id. An item
    that does not exist yet is added to the root file; null removes one."""
    changes = scenario.data.get("changes") if isinstance(scenario.data, dict) else None
    if not changes:
        return docs
    patchers = [Patcher(d, keyed=True) for d in docs]
    problems: list[Problem] = []
    for kind in NETWORK_KINDS:
        section = changes.get(kind)
        if not section:
            continue
        for ident, value in section.items():
            where = ("changes", kind, ident)
            if kind == "media":
                home = next((p for p in patchers if isinstance(p.data.get("media"), dict) and ident in p.data["media"]),
                            None)
            else:
                home = next((p for p in patchers if isinstance(p.data.get(kind), list) and any(
                    isinstance(x, dict) and x.get(KEYED_LISTS[(kind,)]) == ident for x in p.data[kind])), None)
            if home is None and value is None:
                problems.append(scenario.problem(where, f"the network has no {kind} item '{ident}' to remove"))
                continue
            target = home or patchers[0]
            if kind not in target.data or target.data[kind] is None:
                target.data[kind] = {} if kind == "media" else []
            target.merge((kind,), {ident: value}, scenario, ("changes", kind))
    for p in patchers:
        problems.extend(p.problems)
    if problems:
        raise UserError(problems)
    return [p.document() for p in patchers]
