"""Reading YAML files safely: duplicate keys, line numbers, includes, `--set` overrides, schema checks.

YAML is read with a SafeLoader that rejects duplicate keys (PyYAML silently keeps the last) and does
not turn "10:00" into the sexagesimal integer 600 (YAML 1.1 would). Schema errors from pydantic are
turned into `Problem`s naming the file, the field path and the line.

Inputs are bounded before they can cost much: a file must be a regular file of at most
MAX_FILE_BYTES, its values nest at most MAX_DEPTH deep and, with every alias (`*name`) expanded,
number at most MAX_NODES, so that a few lines of aliases cannot expand into billions of values;
network files include one another at most MAX_INCLUDE_DEPTH deep, and a command takes at most
MAX_SET_ARGUMENTS `--set` arguments.
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
import re
import stat
import typing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .errors import Problem, UserError
from .schema import MAX_PATH_CHARS, NetworkFile, ScenarioFile

MAX_FILE_BYTES = 20_000_000
"""Largest file read (bytes): YAML inputs and OD tables."""
MAX_DEPTH = 64
"""Deepest nesting of YAML values (the schemas need fewer than ten levels)."""
MAX_NODES = 1_000_000
"""Most YAML values in one document with every alias expanded."""
MAX_INCLUDE_DEPTH = 32
"""Most network files including one another in a row (the shipped networks chain four)."""
MAX_SET_ARGUMENTS = 1_000
"""Most `--set` arguments of one command (more belong in a scenario file that extends the one run)."""

# ---------------------------------------------------------------------------------------------------
# YAML reading


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-style numbers, duplicate-key detection (see _line_map) and nesting
    capped at MAX_DEPTH while composing (PyYAML's composer recurses once per level)."""

    depth = 0

    def compose_node(self, parent, index):
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"values nested more than {MAX_DEPTH} levels deep",
                                              self.peek_event().start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


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


def quoting_dumper() -> type[yaml.SafeDumper]:
    """A SafeDumper subclass that quotes every string this module's loader would read back as
    something else: its implicit resolvers are the union of PyYAML's (YAML 1.1) and the loader's
    (YAML 1.2-style numbers, such as '1e+308', which YAML 1.1 leaves a string and would write bare)."""
    merged: dict = {}
    for source in (yaml.SafeDumper.yaml_implicit_resolvers, _Loader.yaml_implicit_resolvers):
        for key, resolvers in source.items():
            merged.setdefault(key, []).extend(r for r in resolvers if r not in merged.get(key, []))
    return type("QuotingDumper", (yaml.SafeDumper,), {"yaml_implicit_resolvers": merged})


@dataclass(frozen=True)
class Source:
    """Where a value was written: a file (or "--set ..." for the command line), the line, and the
    field path as written there."""

    file: str
    line: int | None
    loc: tuple


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its data and the line of every field path in it. Values patched in from
    elsewhere (a parent scenario, `--set`, a scenario's network changes) are listed in `overlays`
    with where they were written."""

    path: Path
    data: Any
    lines: dict[tuple, int]
    overlays: dict[tuple, Source] = field(default_factory=dict)

    def line_of(self, loc: tuple) -> int | None:
        """Line of the deepest known prefix of `loc` (in whichever file wrote it)."""
        return self.source(loc).line

    def source(self, loc: tuple) -> Source:
        """Where the value at field path `loc` (or its deepest existing prefix) was written."""
        for n in range(len(loc), -1, -1):
            prefix = loc[:n]
            if prefix in self.overlays:
                src = self.overlays[prefix]
                return Source(src.file, src.line, src.loc + loc[n:])
            if prefix in self.lines:
                return Source(str(self.path), self.lines[prefix], loc)
        return Source(str(self.path), None, loc)

    def problem(self, loc: tuple, message: str) -> Problem:
        """A problem at field path `loc`, placed where that value was written; values inside it patched
        in from elsewhere (e.g. `--set` on one of its fields) are named too."""
        src = self.source(loc)
        inside = sorted(self._patched_under.get(loc, set()) - {src.file})
        if inside:
            message += f" (with {', '.join(inside)})"
        return Problem(src.file, format_loc(src.loc), message, src.line)

    @cached_property
    def _patched_under(self) -> dict[tuple, set[str]]:
        """The files that wrote values patched in below each field path (built once: a document with
        thousands of patched values and as many problems stays linear)."""
        out: dict[tuple, set[str]] = {}
        for loc, src in self.overlays.items():
            for n in range(len(loc)):
                out.setdefault(loc[:n], set()).add(src.file)
        return out


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


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph that, with its aliases expanded, is cyclic (an alias inside its own
    anchor), nests deeper than MAX_DEPTH or has more than MAX_NODES values. Iterative, and each
    shared node is visited once, so an alias bomb is measured without being expanded."""
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth) when expanded
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else (
            node.value if isinstance(node, yaml.SequenceNode) else [])
        if children_done:
            open_nodes.discard(id(node))
            sizes = [measured[id(c)] for c in children]
            values, depth = 1 + sum(n for n, _ in sizes), 1 + max((d for _, d in sizes), default=0)
            if values > MAX_NODES or depth > MAX_DEPTH:
                what = (f"holds more than {MAX_NODES:,} values" if values > MAX_NODES
                        else f"nests more than {MAX_DEPTH} levels deep")
                raise yaml.composer.ComposerError(None, None, f"with its aliases expanded, this value {what}",
                                                  node.start_mark)
            measured[id(node)] = (values, depth)
        elif id(node) in open_nodes:
            raise yaml.composer.ComposerError(None, None, "an alias refers to a value that contains it",
                                              node.start_mark)
        elif id(node) not in measured:
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children)


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The node graph and data of one YAML document (bounded: see _check_expansion); yaml.YAMLError
    on any problem, unprintable characters included."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_expansion(node)
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[str, int | None]:
    """A YAML error as a message and the line it points at."""
    if isinstance(exc, yaml.reader.ReaderError):
        return (f"contains the character U+{exc.character:04X}, which YAML does not allow (a control character)",
                text.count("\n", 0, exc.position) + 1)
    mark = getattr(exc, "problem_mark", None)
    return f"not valid YAML: {getattr(exc, 'problem', None) or exc}", mark.line + 1 if mark is not None else None


def parse_yaml_text(text: str, file: str = "") -> Any:
    """Parse one YAML value (used for `--set` values); raises UserError on syntax errors."""
    try:
        return _parse(text)[1]
    except yaml.YAMLError as exc:
        raise UserError.single(file, "", _yaml_problem(exc, text)[0]) from None


def read_bytes(path: Path, what: str = "file") -> bytes:
    """The content of a regular file of at most MAX_FILE_BYTES; UserError naming the path otherwise
    (missing, a directory, a device such as /dev/zero, a pipe, too large, unreadable)."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
            raise UserError.single(str(path), "", f"{what} is {kind}")
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise UserError.single(str(path), "", f"{what} not found") from None
    except OSError as exc:
        raise UserError.single(str(path), "", f"cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise UserError.single(str(path), "", f"{what} is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    return data


def read_yaml(path: Path) -> Document:
    """Read a YAML file into a Document; UserError for a missing, unreadable or oversized file, bad
    syntax, an alias bomb or duplicate keys."""
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError.single(str(path), "", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data, lines, duplicates = _parsed(text)
    except yaml.YAMLError as exc:
        raise UserError.single(str(path), "", *_yaml_problem(exc, text)) from None
    if duplicates:
        raise UserError([Problem(str(path), format_loc(loc), f"duplicate key (first given on line {first})", line)
                         for loc, line, first in duplicates])
    return Document(path, copy.deepcopy(data), dict(lines))


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> tuple[Any, dict[tuple, int], list]:
    """The data, line of every field path and duplicate keys of YAML `text`. Kept for the texts
    read last: a sweep loads its base scenario and network files once per point, and parsing
    (pure Python, to keep line numbers) is most of a load. Callers get a copy of the data."""
    node, data = _parse(text)
    lines: dict[tuple, int] = {}
    duplicates: list = []
    _line_map(node, (), lines, duplicates)
    return data, lines, duplicates


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


def with_lines(err: UserError, doc: Document, file: str | None = None) -> UserError:
    """The same problems, those raised against `file` (default: the document's own file) without
    a line placed where their field was written (the line, and the file for patched values)."""
    file = str(doc.path) if file is None else file
    out = []
    for p in err.problems:
        if p.line is None and p.file == file and p.path:
            p = doc.problem(parse_loc(p.path), p.message)
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


def _fields_at(model: Any, loc: tuple) -> list[str]:
    """The fields the schema allows in the mapping at `loc` (pydantic's error location: field
    names, list indices and mapping keys) below `model`; [] where it cannot tell."""
    for part in loc:
        if isinstance(part, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            model = _element_model(model)
            if isinstance(part, int) or model is None:
                continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            model = _element_model(model)  # a mapping key (an id) inside dict[Id, Model]
            continue
        model = field.annotation
    model = _element_model(model) if not (isinstance(model, type) and issubclass(model, BaseModel)) else model
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _element_model(annotation: Any) -> Any:
    """The model inside an annotation such as `Model | None`, `list[Model]` or `dict[Id, Model]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(typing.get_args(annotation)):
        found = _element_model(arg)
        if found is not None:
            return found
    return None


def _message(err: ErrorDetails, model: Any = None) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        field = err["loc"][-1] if err["loc"] else ""
        near = difflib.get_close_matches(str(field), _fields_at(model, tuple(err["loc"][:-1])), n=3, cutoff=0.6)
        if near:
            return f"unknown field: did you mean {' or '.join(repr(n) for n in near)}?"
        return "unknown field (check its spelling; unknown fields are not allowed)"
    if kind == "missing":
        return "required field is missing"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if kind == "string_too_long":
        return f"{msg} (this one has {len(err['input']):,})"
    if "input" in err and kind not in ("model_type", "dict_type", "list_type"):
        shown = repr(err["input"])
        if len(shown) <= 60 and f"got {shown}" not in msg:
            msg += f" (got {shown})"
    return msg


_SCENARIO_KEYS = frozenset({"demand", "period", "extends"})
_NETWORK_KEYS = frozenset({"stations", "lines", "operators", "media", "include"})


def _wrong_kind(model: type[BaseModel], data: dict) -> str | None:
    """Why `data` is the other kind of file than `model` reads (a network file given as a scenario,
    or the reverse), or None."""
    scenario, network = _SCENARIO_KEYS & data.keys(), _NETWORK_KEYS & data.keys()
    if model is ScenarioFile and network and not scenario:
        return (f"this is a network file (it has {', '.join(sorted(network))}), not a scenario; a scenario "
                "has name, network, period and demand, and names its network file in `network:`")
    if model is NetworkFile and scenario and not network:
        return (f"this is a scenario file (it has {', '.join(sorted(scenario))}), not a network file; a "
                "network has media, operators, stations and lines")
    return None


def validate_model(model: type[BaseModel], doc: Document) -> Any:
    """Validate a document against a schema; every problem reported with path and line."""
    if not isinstance(doc.data, dict):
        raise UserError.single(str(doc.path), "", "expected a mapping of fields at the top level")
    mistake = _wrong_kind(model, doc.data)
    if mistake:
        raise UserError.single(str(doc.path), "", mistake)
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        seen = set()
        errors = [(_data_loc(doc.data, err["loc"]), err) for err in exc.errors()]
        # text too long is the cause: not also the other forms a field could take (a step's walk)
        too_long = {loc for loc, err in errors if err["type"] == "string_too_long"}
        for loc, err in errors:
            key = (loc, err["type"])
            if key in seen or (loc in too_long and err["type"] != "string_too_long"):
                continue
            seen.add(key)
            problems.append(doc.problem(loc, _message(err, model)))
        raise UserError(problems) from None


# ---------------------------------------------------------------------------------------------------
# Overrides


def parse_set_arguments(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings to a dict; values parse as YAML scalars (200000, true, "06:30"). At most
    MAX_SET_ARGUMENTS of them."""
    if len(items) > MAX_SET_ARGUMENTS:
        raise UserError.single("", "--set", f"{len(items):,} --set arguments, more than the {MAX_SET_ARGUMENTS:,} "
                               "allowed; write the changes in a scenario file that `extends` this one")
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


def read_network_documents(path: Path) -> list[Document]:
    """Read a network file and, recursively, every file it includes (each once), unvalidated: the
    root first. Files include one another at most MAX_INCLUDE_DEPTH deep."""
    order: list[Document] = []
    seen: set[Path] = set()
    problems: list[Problem] = []

    def visit(p: Path, stack: frozenset[Path]) -> None:
        p = p.resolve()
        if p in seen:
            return
        seen.add(p)
        try:
            doc = read_yaml(p)
        except UserError as err:
            problems.extend(err.problems)
            return
        order.append(doc)
        includes = doc.data.get("include") if isinstance(doc.data, dict) else None
        if not isinstance(includes, list):
            return  # a malformed include list is reported by the schema check
        stack = stack | {p}
        for i, inc in enumerate(includes):
            if not isinstance(inc, str) or len(inc) > MAX_PATH_CHARS:
                continue  # reported by the schema check
            target = p.parent / inc
            if not os.path.exists(target):  # False, not an OSError, for a name too long to look up
                problems.append(doc.problem(("include", i), f"included file '{inc}' not found"))
            elif target.resolve() in stack:
                problems.append(doc.problem(("include", i), f"include cycle: '{inc}' includes this file again"))
            elif len(stack) >= MAX_INCLUDE_DEPTH:
                problems.append(doc.problem(("include", i), f"more than {MAX_INCLUDE_DEPTH} files include one another "
                                                            f"in a row from {path}; at most {MAX_INCLUDE_DEPTH} may"))
            else:
                visit(target, stack)

    visit(path, frozenset())
    if problems:
        raise UserError(problems)
    return order


def validate_network(docs: list[Document]) -> LoadedNetwork:
    """Check every network document against the schema; all problems at once."""
    files, problems = [], []
    for doc in docs:
        try:
            files.append((validate_model(NetworkFile, doc), doc))
        except UserError as err:
            problems.extend(err.problems)
    if problems:
        raise UserError(problems)
    return LoadedNetwork(tuple(files))


def load_network_files(path: Path) -> LoadedNetwork:
    """Read and validate a network file and every file it includes."""
    return validate_network(read_network_documents(path))


def detect_kind(doc: Document) -> str:
    """'sweep', 'calibration', 'zones', 'scenario' or 'network' from the top-level keys."""
    data = doc.data if isinstance(doc.data, dict) else {}
    if "scenario" in data and any(k in data for k in ("grid", "zip", "sample")):
        return "sweep"
    if "scenario" in data and "counts" in data:
        return "calibration"
    if "zones" in data and not any(k in data for k in ("demand", "stations", "lines")):
        return "zones"
    if "demand" in data or "network" in data or "extends" in data:
        return "scenario"
    return "network"
