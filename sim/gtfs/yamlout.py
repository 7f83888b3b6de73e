"""An imported network as a YAML network file, commented: a header saying where it came from and
which values are defaults, each item's `source` as a comment above it, one line per station.

The feed's text (ids, names) reaches the file in two ways, neither of which can add to its
structure: in comments, kept to one line each (`_comment`), and in values, which only the YAML
dumper writes (`_dump`), every line break in them escaped.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from ..loading import quoting_dumper
from .feed import one_line

HEADER = """\
Network file imported from a GTFS feed (run_sim.py import-gtfs). From the feed: operators
(agency.txt), stations and their coordinates and names (stops.txt, translations.txt), lines, their
branches, patterns and departures (routes.txt, trips.txt, stop_times.txt, frequencies.txt, for the
service day below), run times and dwells (stop_times.txt), walks (transfers.txt), through-running
(block_id, transfer_type 4), fares where one price fits an operator. ASSUMPTION, documented
defaults (sim/gtfs/defaults.py): capacities and speed profiles by route_type, station facilities,
payment media when the feed has no fare_media.txt; km posts from shape_dist_traveled or else
straight lines. Each item's comment names the rows it came from."""

_LISTS = ("operators", "stations", "lines", "interchanges", "track_links")


def _comment(text: str, indent: str) -> str:
    """`text` as comment lines: any line break or control character in it is a space (see
    `one_line`), so that nothing of it can end the comment and start a line of YAML."""
    return "".join(f"{indent}# {line}\n" for line in textwrap.wrap(one_line(text), 110 - len(indent)))


class _Dumper(quoting_dumper()):  # type: ignore[misc]
    """The safe dumper, writing text that holds a line break or another character `one_line`
    replaces in double quotes, where line breaks and control characters are escaped (\\n, \\N,
    \\L, ...). PyYAML would otherwise choose single quotes for some, which keep line breaks as they
    are: a station's line would then span several lines, and NEL (U+0085) in single quotes is read
    back as a space."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    quoted = one_line(text) != text
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"' if quoted else None)


_Dumper.add_representer(str, _represent_text)


def _dump(value, flow: bool | None) -> str:
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=flow, sort_keys=False, allow_unicode=True,
                     width=10**6 if flow else 110)


def network_yaml(network: dict) -> str:
    """The network (as `import_feed` returns it) as commented YAML text."""
    out = [_comment(line, "") for line in HEADER.split("\n\n")]
    # the description's own lines; any other line break in it (from the feed) is a space
    out.append("#\n" + "".join(_comment(line, "") for line in network.get("description", "").split("\n")))
    head = {k: v for k, v in network.items() if k not in _LISTS}
    out.append(_dump(head, None))
    for kind in _LISTS:
        items = network.get(kind) or []
        if not items:
            out.append(f"{kind}: []\n")
            continue
        out.append(f"\n{kind}:\n")
        for item in items:
            body = {k: v for k, v in item.items() if k != "source"}
            if item.get("source"):
                out.append(_comment(item["source"], "  "))
            if kind == "stations":
                out.append("  - " + _dump(body, True).strip() + "\n")
            else:
                out.append(textwrap.indent(_dump([body], None), "  "))
    return "".join(out)


def write_network(network: dict, path: str | Path) -> None:
    """Write the network as commented YAML to `path` (UTF-8)."""
    Path(path).write_text(network_yaml(network), encoding="utf-8")


def is_imported_network(path: str | Path) -> bool:
    """Whether `path` is a network file written by import-gtfs (a regular file, not a link, that
    opens with this module's header): import-gtfs --force replaces only such a file."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        return False
    first = _comment(HEADER.split("\n\n")[0], "").splitlines()[0]
    with open(path, "rb") as handle:
        return handle.read(len(first.encode("utf-8"))).decode("utf-8", "replace") == first
