"""Reading YAML files safely: duplicate keys, line numbers, includes, `--set` overrides, schema checks.

YAML is read with a SafeLoader that rejects duplicate keys (PyYAML silently keeps the last) and does
not turn "10:00" into the sexagesimal integer 600 (YAML 1.1 would). Schema errors from pydantic are
turned into `Problem`s naming the file, the field path and the line.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import Problem, UserError
from .schema import NetworkFile, ScenarioFile

# ---------------------------------------------------------------------------------------------------
# YAML reading


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-style numbers and duplicate-key detection."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0x[0-9a-fA-F]+|0o[0-7]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
               r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its data and the line of every field path in it."""

    path: Path
    data: Any
    lines: dict[tuple, int]

    def line_of(self, loc: tuple) -> int | None:
        """Line of the deepest known prefix of `loc`."""
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.lines:
                return self.lines[loc[:n]]
        return None


def _line_map(node: yaml.Node | None, prefix: tuple, out: dict[tuple, int], duplicates: list) -> None:
    """Record the line of every field path; collect (path, line, first line) of duplicate keys."""
    if node is None:
        return
    out.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = (key_node.value,)
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                duplicates.append((prefix + key, line, seen[key_node.value]))
                continue
            seen[key_node.value] = line
            out[prefix + key] = line
            _line_map(value_node, prefix + key, out, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, prefix + (i,), out, duplicates)


def parse_yaml_text(text: str, file: str = "") -> Any:
    """Parse one YAML value (used for `--set` values); raises UserError on syntax errors."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as exc:
        raise UserError.single(file, "", f"not valid YAML: {exc}") from None


def read_yaml(path: Path) -> Document:
    """Read a YAML file into a Document; UserError for a missing file, bad syntax or duplicate keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError.single(str(path), "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError.single(str(path), "", f"cannot read file: {exc}") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise UserError.single(str(path), "", f"not valid YAML: {getattr(exc, 'problem', exc)}", line) from None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    duplicates: list = []
    _line_map(node, (), lines, duplicates)
    if duplicates:
        raise UserError([Problem(str(path), format_loc(loc), f"duplicate key (first given on line {first})", line)
                         for loc, line, first in duplicates])
    return Document(path, data, lines)


# ---------------------------------------------------------------------------------------------------
# Schema validation


def format_loc(loc: tuple) -> str:
    """Dotted field path with [i] for list indices: lines[0].patterns[1].timetable."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_loc(path: str) -> tuple:
    """Inverse of format_loc: 'lines[0].patterns[1]' -> ('lines', 0, 'patterns', 1)."""
    out: list = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if name:
            out.append(name)
        for idx in filter(None, rest.replace("]", "").split("[")) if rest else ():
            out.append(int(idx) if idx.isdigit() else idx)
    return tuple(out)


def with_lines(err: UserError, doc: Document) -> UserError:
    """The same problems, with line numbers filled in from `doc` where they point into it."""
    out = []
    for p in err.problems:
        if p.line is None and p.file == str(doc.path) and p.path:
            p = Problem(p.file, p.path, p.message, doc.line_of(parse_loc(p.path)))
        out.append(p)
    return UserError(out)


def _data_loc(data: Any, loc: tuple) -> tuple:
    """Keep the parts of a pydantic error location that exist in the data (drops union tags)."""
    out: list = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str) and part not in cur and not _is_tag(part):
            out.append(part)  # a missing field: name it
            cur = None
        elif isinstance(cur, (list, tuple)) and isinstance(part, int):
            out.append(part)
            cur = None
    return tuple(out)


def _is_tag(part: str) -> bool:
    return part[:1].isupper() or part in ("str", "int", "float", "bool", "list", "dict") or "[" in part


def _message(err: dict) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field (check its spelling; unknown fields are not allowed)"
    if kind == "missing":
        return "required field is missing"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if "input" in err and kind not in ("model_type", "dict_type", "list_type"):
        shown = repr(err["input"])
        if len(shown) <= 60:
            msg += f" (got {shown})"
    return msg


def validate_model(model: type[BaseModel], doc: Document) -> Any:
    """Validate a document against a schema; every problem reported with path and line."""
    if not isinstance(doc.data, dict):
        raise UserError.single(str(doc.path), "", "expected a mapping of fields at the top level")
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        seen = set()
        for err in exc.errors():
            loc = _data_loc(doc.data, err["loc"])
            key = (loc, err["type"])
            if key in seen:
                continue
            seen.add(key)
            problems.append(Problem(str(doc.path), format_loc(loc), _message(err), doc.line_of(loc)))
        raise UserError(problems) from None


# ---------------------------------------------------------------------------------------------------
# Overrides


def apply_overrides(data: dict, overrides: dict[str, Any], file: str = "--set") -> dict:
    """A copy of `data` with dotted-path overrides applied (list items by index: a.b.0.c)."""
    out = copy.deepcopy(data)
    problems = []
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if not dotted or any(p == "" for p in parts):
            problems.append(Problem(file, dotted, "expected a dotted path such as demand.total"))
            continue
        cur: Any = out
        ok = True
        for i, part in enumerate(parts[:-1]):
            nxt = _child(cur, part)
            if nxt is None:
                problems.append(Problem(file, dotted, f"'{'.'.join(parts[: i + 1])}' does not exist in the scenario"))
                ok = False
                break
            cur = nxt
        if not ok:
            continue
        last = parts[-1]
        if isinstance(cur, dict):
            cur[last] = value
        elif isinstance(cur, list) and last.isdigit() and int(last) < len(cur):
            cur[int(last)] = value
        else:
            problems.append(Problem(file, dotted, f"cannot set '{last}' here"))
    if problems:
        raise UserError(problems)
    return out


def _child(cur: Any, part: str) -> Any:
    if isinstance(cur, dict):
        return cur.get(part) if isinstance(cur.get(part), (dict, list)) else None
    if isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
        item = cur[int(part)]
        return item if isinstance(item, (dict, list)) else None
    return None


def parse_set_arguments(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings to a dict; values parse as YAML scalars (200000, true, "06:30")."""
    out: dict[str, Any] = {}
    problems = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            problems.append(Problem("--set", item, "expected KEY=VALUE, e.g. demand.total=200000"))
            continue
        out[key.strip()] = parse_yaml_text(raw, "--set " + key.strip())
    if problems:
        raise UserError(problems)
    return out


# ---------------------------------------------------------------------------------------------------
# Files


@dataclass(frozen=True)
class LoadedNetwork:
    """Validated network files: the root first, includes after, each with its document."""

    files: tuple[tuple[NetworkFile, Document], ...]


def load_network_files(path: Path) -> LoadedNetwork:
    """Read a network file and, recursively, every file it includes (each once)."""
    order: list[tuple[NetworkFile, Document]] = []
    seen: set[Path] = set()
    problems: list[Problem] = []

    def visit(p: Path, stack: tuple[Path, ...]) -> None:
        p = p.resolve()
        if p in seen:
            return
        seen.add(p)
        try:
            doc = read_yaml(p)
            model = validate_model(NetworkFile, doc)
        except UserError as err:
            problems.extend(err.problems)
            return
        order.append((model, doc))
        for i, inc in enumerate(model.include):
            target = (p.parent / inc)
            if not target.exists():
                problems.append(Problem(str(p), f"include[{i}]", f"included file '{inc}' not found", doc.line_of(("include", i))))
                continue
            if target.resolve() in stack + (p,):
                problems.append(Problem(str(p), f"include[{i}]", f"include cycle: '{inc}' includes this file again",
                                        doc.line_of(("include", i))))
                continue
            visit(target, stack + (p,))

    visit(path, ())
    if problems:
        raise UserError(problems)
    return LoadedNetwork(tuple(order))


@dataclass(frozen=True)
class LoadedScenario:
    model: ScenarioFile
    doc: Document
    raw: dict
    """The scenario as a plain dict after overrides (what the manifest records)."""


def load_scenario_file(path: Path, overrides: dict[str, Any] | None = None) -> LoadedScenario:
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise UserError.single(str(path), "", "expected a mapping of fields at the top level")
    data = apply_overrides(doc.data, overrides or {})
    patched = Document(doc.path, data, doc.lines)
    model = validate_model(ScenarioFile, patched)
    return LoadedScenario(model, patched, data)


def detect_kind(doc: Document) -> str:
    """'scenario' or 'network' from the top-level keys."""
    if isinstance(doc.data, dict) and ("demand" in doc.data or "network" in doc.data):
        return "scenario"
    return "network"
