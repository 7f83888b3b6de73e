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
import difflib
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
SCENARIO_KEYED_LISTS: dict[tuple, str] = {("demand", "segments"): "name"}
"""Lists of a scenario whose items a variant (`extends`) may address by name, as a mapping: a new
segment says `add: true`, null removes one, and a list still replaces the whole list."""


ADD = "add"
"""The field that marks an item of a scenario's `changes` as new (`add: true`): an id the network
does not have is otherwise a mistake (a mistyped id), not a new item."""
_REFUSED = object()
SUGGESTED = 20
"""Mistyped ids for which the nearest ids are looked up (each look-up compares with every id)."""


def _keyed_field(loc: tuple, lists: dict[tuple, str]) -> str | None:
    for pattern, key in lists.items():
        if len(pattern) == len(loc) and all(p == "*" or p == x for p, x in zip(pattern, loc)):
            return key
    return None


class _Origins:
    """Where the values of a document were written, by field path (a line, or a `Source`), with the
    paths below each path indexed (once needed), so that forgetting or renumbering the origins of a
    value costs the size of that value, not of the document: thousands of patches stay linear."""

    def __init__(self, entries: dict[tuple, Any]) -> None:
        self.entries = dict(entries)
        self._below: dict[tuple, set[tuple]] | None = None  # path -> the recorded paths one level below it

    def _index(self) -> dict[tuple, set[tuple]]:
        if self._below is None:
            self._below = {}
            for loc in self.entries:
                self._link(self._below, loc)
        return self._below

    @staticmethod
    def _link(below: dict[tuple, set[tuple]], loc: tuple) -> None:
        """Index `loc` in `below` under each of its prefixes, up to the first already indexed."""
        while loc:
            siblings = below.setdefault(loc[:-1], set())
            if loc in siblings:
                return
            siblings.add(loc)
            loc = loc[:-1]

    def __setitem__(self, loc: tuple, value: Any) -> None:
        self.entries[loc] = value
        if self._below is not None:
            self._link(self._below, loc)

    def _pop_under(self, loc: tuple) -> dict[tuple, Any]:
        """Remove the origins of `loc` and of everything under it; returns them."""
        below = self._index()
        if loc:
            below.get(loc[:-1], set()).discard(loc)
        out, stack = {}, [loc]
        while stack:
            k = stack.pop()
            if k in self.entries:
                out[k] = self.entries.pop(k)
            stack.extend(below.pop(k, ()))
        return out

    def forget(self, loc: tuple) -> None:
        """Drop the origins of `loc` and everything under it."""
        self._pop_under(loc)

    def renumber(self, list_loc: tuple, new_index: dict[int, int]) -> None:
        """Move the origins of the items of the list at `list_loc` to their new indices (items not
        in `new_index` keep theirs)."""
        n = len(list_loc)
        moved = [(k, v) for old in sorted(new_index) if new_index[old] != old
                 for k, v in self._pop_under(list_loc + (old,)).items()]
        for k, v in moved:
            self[k[:n] + (new_index[k[n]],) + k[n + 1:]] = v


class Patcher:
    """A mutable copy of a document that patches are applied to (see the module docstring)."""

    def __init__(self, doc: Document, keyed: dict[tuple, str] | None = None) -> None:
        self.path = doc.path
        self.data = copy.deepcopy(doc.data)
        self.lines = _Origins(doc.lines)
        self.overlays = _Origins(doc.overlays)
        self.keyed = keyed or {}
        """The lists whose items a patch may address by a field of theirs (KEYED_LISTS for networks)."""
        self.problems: list[Problem] = []

    def document(self) -> Document:
        return Document(self.path, self.data, dict(self.lines.entries), dict(self.overlays.entries))

    # -- bookkeeping of origins -------------------------------------------------------------------

    def _forget(self, loc: tuple) -> None:
        """Drop the recorded origins of `loc` and everything under it."""
        self.lines.forget(loc)
        self.overlays.forget(loc)

    def _record(self, loc: tuple, value: Any, src: Document, src_loc: tuple) -> None:
        """Record that `value`, now at `loc`, was written at `src_loc` of `src` (all its nodes)."""
        self.overlays[loc] = src.source(src_loc)
        if isinstance(value, dict):
            for k, v in value.items():
                self._record(loc + (k,), v, src, src_loc + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self._record(loc + (i,), v, src, src_loc + (i,))

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

        Mappings merge key by key; a keyed list (one of this patcher's `keyed` lists) takes a
        mapping from id to item; `null` removes a key (when `null_deletes`) or an item;
        anything else replaces the value."""
        target = self.get(loc)
        keyed = _keyed_field(loc, self.keyed)
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
        position: dict[Any, int] = {}  # id -> index of the first item with it
        for i, item in enumerate(items):
            ident = item.get(key_field) if isinstance(item, dict) else None
            if not isinstance(ident, (dict, list)):
                position.setdefault(ident, i)
        removed: set[int] = set()  # removed once the patch is through, so that the positions above hold
        for ident, v in patch.items():
            at = position.get(ident)
            where = src_loc + (ident,)
            if len(loc) > 1:  # items inside an item (a line's patterns); top-level ones: apply_network_changes
                v = self._checked_addition(v, at is not None, ident, list(position), src, where)
                if v is _REFUSED:
                    continue
            if v is None:
                if at is None:
                    self.problems.append(src.problem(where, f"there is no item '{ident}' here to remove"))
                    continue
                removed.add(at)
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
        if removed:
            self._remove_items(loc, removed)

    def _checked_addition(self, value: Any, exists: bool, ident: Any, known: list, src: Document, where: tuple) -> Any:
        """`value` without its `add: true` marker; _REFUSED (and a problem) for an item that does
        not exist and is not marked as new (a mistyped id: the nearest ids are named), or one
        marked as new that exists already."""
        marked = isinstance(value, dict) and value.get(ADD) is True
        if marked and exists:
            self.problems.append(src.problem(where + (ADD,), f"'{ident}' exists already: remove `{ADD}: true` to "
                                                              "change it"))
            return _REFUSED
        if not exists and value is not None and not marked:
            self.problems.append(src.problem(where, unknown_id(ident, known)))
            return _REFUSED
        return {k: v for k, v in value.items() if k != ADD} if marked else value

    def _remove_items(self, loc: tuple, removed: set[int]) -> None:
        """Remove the items at the indices `removed` from the list at `loc` with their origins; the
        origins of the items after them move with them, in one pass however many are removed."""
        items = self.get(loc)
        for i in removed:
            self._forget(loc + (i,))
        kept = [i for i in range(len(items)) if i not in removed]
        items[:] = [items[i] for i in kept]
        new_index = {old: new for new, old in enumerate(kept)}
        self.lines.renumber(loc, new_index)
        self.overlays.renumber(loc, new_index)

    def raise_if_problems(self) -> None:
        if self.problems:
            raise UserError(self.problems)


# ---------------------------------------------------------------------------------------------------
# Scenario documents: extends and --set

PATH_FIELDS = (("network",),)
"""Scenario fields holding a path, relative to the file that writes them."""


def _path_locs(data: Any) -> list[tuple]:
    """Field paths of every path-valued field in scenario data (network, segments' od_table, the
    zones file or files)."""
    out: list[tuple] = [loc for loc in PATH_FIELDS if isinstance(data, dict) and loc[0] in data]
    demand = data.get("demand") if isinstance(data, dict) else None
    zones = demand.get("zones") if isinstance(demand, dict) else None
    files = zones.get("file") if isinstance(zones, dict) else None
    if isinstance(files, str):
        out.append(("demand", "zones", "file"))
    elif isinstance(files, list):
        out += [("demand", "zones", "file", i) for i, f in enumerate(files) if isinstance(f, str)]
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


def merge_scenarios(chain: list[Document]) -> Document:
    """The scenario `chain[0]` merged over the scenarios it extends (`chain[1]` its parent, `chain[2]`
    that one's parent, ...): each file's fields over its parent's, in one copy of the farthest parent
    (null removes a field, except inside `changes`, where null means "remove from the network" and
    is kept). The last file of the chain extends none."""
    patcher = Patcher(chain[-1], keyed=SCENARIO_KEYED_LISTS)
    for child in reversed(chain[:-1]):
        for k, v in child.data.items():
            if k != "extends":
                patcher.merge((), {k: v}, child, (), null_deletes=k != "changes")
    patcher.raise_if_problems()
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
    that does not exist yet is added to the root file when it says `add: true` (else its id is a
    mistake, named with the nearest ids); null removes one."""
    changes = scenario.data.get("changes") if isinstance(scenario.data, dict) else None
    if not changes:
        return docs
    patchers = [Patcher(d, keyed=KEYED_LISTS) for d in docs]
    problems: list[Problem] = []
    for kind in NETWORK_KINDS:
        section = changes.get(kind)
        if not section:
            continue
        home = _homes(patchers, kind)
        patches: dict[int, dict] = {}  # patcher -> its part of the section, merged in one go
        for ident, value in section.items():
            if ident not in home and value is None:
                problems.append(scenario.problem(("changes", kind, ident),
                                                 f"the network has no {kind} item '{ident}' to remove"))
                continue
            marked = isinstance(value, dict) and value.get(ADD) is True
            if value is not None and (ident in home) == marked:  # a mistyped id, or a new item that exists
                near = list(home) if len(problems) < SUGGESTED else []  # nearest ids for the first few only
                problems.append(scenario.problem(("changes", kind, ident), unknown_id(ident, near)) if not marked
                                else scenario.problem(("changes", kind, ident, ADD),
                                                      f"'{ident}' exists already: remove `{ADD}: true` to change it"))
                continue
            value = {k: v for k, v in value.items() if k != ADD} if marked else value
            patches.setdefault(home.get(ident, 0), {})[ident] = value
        for k, patch in patches.items():
            target = patchers[k]
            if not isinstance(target.data, dict):
                continue  # not a network file: the schema check says so
            if kind not in target.data or target.data[kind] is None:
                target.data[kind] = {} if kind == "media" else []
            target.merge((kind,), patch, scenario, ("changes", kind))
    for p in patchers:
        problems.extend(p.problems)
    if problems:
        raise UserError(problems)
    return [p.document() for p in patchers]


def unknown_id(ident: Any, known: list) -> str:
    """The message for an id the network does not have: the nearest ids it has, and how to add one."""
    near = difflib.get_close_matches(str(ident), [str(k) for k in known if k is not None], n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(n) for n in near)}? " if near else ""
    return f"no item '{ident}' in the network; {hint}(to add a new item, give it `{ADD}: true`)"


def _homes(patchers: list[Patcher], kind: str) -> dict[Any, int]:
    """Id -> the first of `patchers` whose network file defines an item of `kind` with that id."""
    out: dict[Any, int] = {}
    for k, p in enumerate(patchers):
        section = p.data.get(kind) if isinstance(p.data, dict) else None
        if kind == "media":
            ids = list(section) if isinstance(section, dict) else []
        else:
            field = KEYED_LISTS[(kind,)]
            ids = [x.get(field) for x in section if isinstance(x, dict)] if isinstance(section, list) else []
        for ident in ids:
            if not isinstance(ident, (dict, list)):
                out.setdefault(ident, k)
    return out
