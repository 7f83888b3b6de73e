"""Fuzzing the inputs (hypothesis, derandomised): the shipped networks, scenarios and sweep file
and the toy ones (network, scenario, a small sweep, a GTFS feed exported from the toy network),
mutated the ways users and accidents break files (a key deleted, a value of another type, huge,
tiny, negative, NaN, boolean or quoted numbers, a list item duplicated, a value shared by an
alias, an alias bomb or an alias inside itself, deep nesting, control characters, a file cut
short; in a feed's tables: a column deleted, a cell of another type, a row duplicated, a row with
an extra field, a line break inside a cell, a time past the clock's range), then run through the
command line in this process (run, validate, sweep or import-gtfs).

Every case must end in exit 0 with a complete run directory (toy runs use a small demand.total),
or in exit 2 with every error line naming a file (or the `--set` argument) and a line or field;
never an internal error or a traceback, never more than CASE_SECONDS, and never more than
CASE_MEMORY bytes of address space beyond what the test process already uses (`ulimit -v` for the
duration of the case; the run's memory estimate sees the same limit). The test prints how many
cases it tried and how they ended.

FUZZ_EXAMPLES sets the number of cases (default 120, about 15 s; `make fuzz` runs 2,000, a few
minutes); FUZZ_SEED=N draws other cases than the derandomised ones (seed N). Hypothesis also draws
on constants found in the modules already loaded, so the cases depend a little on which tests ran
before this one; a failure prints its case (target, kind, pick, value) for reproducing it.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import os
import re
import resource
import shutil
import signal
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from sim.cli import main

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO / "tests" / "fixtures"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
SEED = os.environ.get("FUZZ_SEED")
CASE_SECONDS = 10.0
CASE_MEMORY = 2 * 1024**3
TOTAL = 150
"""demand.total of the runs (kept small so that a case takes well under a second)."""
pytestmark = pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="the memory guard reads /proc")

TARGETS = (
    # (file mutated, command): toy files run the toy scenario; shipped scenarios run (small demand);
    # shipped networks are validated
    ("toy/toy_scn.yaml", "run toy/toy_scn.yaml"),
    ("toy/toy_net.yaml", "run toy/toy_scn.yaml"),
    ("scenarios/sh11_disruption.yaml", "run scenarios/sh11_disruption.yaml"),
    ("scenarios/line11_through_running.yaml", "run scenarios/line11_through_running.yaml"),
    ("scenarios/huaqiao_full_integration.yaml", "validate scenarios/huaqiao_full_integration.yaml"),
    ("scenarios/baseline.yaml", "validate scenarios/baseline.yaml"),
    ("networks/suzhou_l11.yaml", "validate networks/yrd_today.yaml"),
    ("networks/shanghai_l11.yaml", "validate networks/shanghai_l11.yaml"),
    ("networks/operators.yaml", "validate networks/yrd_today.yaml"),
    ("scenarios/demo_zone_line_2028.yaml", "validate scenarios/demo_zone_line_2028.yaml"),
    ("scenarios/sweep_huaqiao.yaml", "validate scenarios/sweep_huaqiao.yaml"),
    ("toy/sw.yaml", "sweep toy/sw.yaml"),
    ("toy/feed/stops.txt", "import-gtfs toy/feed"),
    ("toy/feed/stop_times.txt", "import-gtfs toy/feed"),
    ("toy/feed/trips.txt", "import-gtfs toy/feed"),
    ("toy/feed/routes.txt", "import-gtfs toy/feed"),
    ("toy/feed/calendar.txt", "import-gtfs toy/feed"),
)
SWEEP_RUNS = 4
"""Mutated toy sweeps with more runs than this are validated rather than run."""
TOY_SWEEP = {"name": "sw", "scenario": "toy_scn.yaml", "set": {"demand.total": 100}, "replications": 1,
             "grid": {"changes.lines.L1.capacity": [400, 800]}}
"""A sweep of two small runs on the toy network (its files are mutated like the others)."""
NUMBERS = (1e308, 2**63, 1e12, 50_000_000, 1e-300, 1e-9, 0, -1, -1e9, float("nan"), float("inf"), True, False,
           "1000", "7", 2.5, 1, 10_000)
OTHERS = ("text", "", "\x07bell", "é" * 70, [], {}, None, [1, 2], {"x": 1}, "07:00", "99:99")
BOMB = "".join(f"bomb{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 9 if i else ['"lol"'] * 9) + "]\n" for i in range(9))
MUTATIONS = ("delete", "retype", "number", "duplicate", "share", "nest", "bomb", "self_alias", "control", "truncate")
LINE_BREAKS = ("\r", "\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029")


class CaseTimeout(BaseException):
    """A case ran past CASE_SECONDS (BaseException: the command line must not swallow it)."""


def _places(data, loc=()) -> list[tuple]:
    """Every field path in parsed YAML data, root first."""
    out = [loc]
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        out += _places(v, loc + (k,))
    return out


def _get(data, loc):
    for part in loc:
        data = data[part]
    return data


def _mutate(text: str, kind: str, pick: int, value) -> str:
    """The file's text with one mutation applied; `pick` chooses where, `value` what."""
    if kind == "bomb":
        return text + BOMB
    if kind == "self_alias":
        return text + "loop: &loop [1, *loop]\n"
    if kind == "control":
        at = pick % (len(text) + 1)
        return text[:at] + "\x00\x1b"[pick % 2] + text[at:]
    if kind == "truncate":
        return text[: pick % max(len(text), 1)]
    data = yaml.safe_load(text)
    places = _places(data)
    if kind == "delete":
        keyed = [loc for loc in places if loc and isinstance(_get(data, loc[:-1]), dict)]
        loc = keyed[pick % len(keyed)]
        del _get(data, loc[:-1])[loc[-1]]
    elif kind == "duplicate":
        lists = [loc for loc in places if isinstance(_get(data, loc), list) and _get(data, loc)]
        if lists:
            seq = _get(data, lists[pick % len(lists)])
            seq.insert(pick % len(seq), copy.deepcopy(seq[pick % len(seq)]))
    else:
        if kind == "number":
            leaves = [loc for loc in places if loc and type(_get(data, loc)) in (int, float)]
        else:
            leaves = [loc for loc in places if loc]
        loc = leaves[pick % len(leaves)] if leaves else None
        if loc is not None:
            if kind == "share":  # the same object twice (an alias), or inside itself
                value = _get(data, places[(pick // 7) % len(places)])
            elif kind == "nest":
                value = "NESTED"
            _get(data, loc[:-1])[loc[-1]] = value
    depth = (10, 70, 1000)[pick % 3]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).replace("NESTED", "[" * depth + "1" + "]" * depth)


def _mutate_csv(text: str, kind: str, pick: int, value) -> str:
    """A GTFS table's text with one mutation (the YAML mutation kinds, read for a table: a column
    deleted, a cell of another type or number, a row duplicated, a cell shared with another row, a
    row with an extra field, a line break inside a cell, a control character, the file cut short)."""
    rows = list(csv.reader(io.StringIO(text)))
    if kind == "truncate" or not rows:
        return text[: pick % max(len(text), 1)]
    r = 1 + pick % max(len(rows) - 1, 1) if len(rows) > 1 else 0
    c = pick % max(len(rows[r]), 1)
    if kind == "delete":
        for row in rows:
            del row[c:c + 1]
    elif kind == "duplicate":
        rows.insert(r, list(rows[r]))
    elif kind == "share":
        rows[r][c:c + 1] = [rows[(pick // 7) % len(rows)][c] if c < len(rows[(pick // 7) % len(rows)]) else ""]
    elif kind in ("nest", "bomb"):  # a row with an extra field; a cell of a huge time
        rows[r] = rows[r] + ["extra"] if kind == "nest" else rows[r][:c] + ["999:00:00"] + rows[r][c + 1:]
    elif kind in ("control", "self_alias"):
        breaker = LINE_BREAKS[pick % len(LINE_BREAKS)] if kind == "self_alias" else "\x00\x1b"[pick % 2]
        rows[r][c:c + 1] = [f"{rows[r][c] if c < len(rows[r]) else ''}{breaker}X"]
    else:
        rows[r][c:c + 1] = [str(value)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@contextlib.contextmanager
def _guarded():
    """CASE_SECONDS of wall time and CASE_MEMORY more address space for the block."""
    def expire(signum, frame):
        raise CaseTimeout(f"case ran longer than {CASE_SECONDS} s")

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[0])
    limit = pages * os.sysconf("SC_PAGE_SIZE") + CASE_MEMORY
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


ERROR_LINE = re.compile(r"error: (?P<where>--set \S+|[^:]+)(?::(?P<line>\d+))?: (?:(?P<field>[^:\s]+): )?\S")


def _check(base: Path, argv: list[str], code: int, err: str) -> str:
    """Assert the outcome is acceptable; returns its label for the tally."""
    assert "Traceback" not in err and "internal error" not in err, f"{argv}\n{err}"
    if code == 0:
        if argv[0] == "validate":
            return "exit 0 (valid)"
        out = Path(argv[argv.index("--out") + 1])
        if argv[0] == "sweep":
            assert (out / "summary.parquet").is_file() and (out / "points.parquet").is_file()
            return "exit 0 (sweep)"
        if argv[0] == "import-gtfs":
            from sim.scenario import load_network

            load_network(out)  # what was written loads
            return "exit 0 (import)"
        json.loads((out / "summary.json").read_text(encoding="utf-8"))
        total = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["scenario"]["demand"]["total"]
        assert len(pd.read_parquet(out / "trips.parquet")) == total
        return "exit 0 (run)"
    assert code == 2, f"{argv} exit {code}\n{err}"
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert errors, err
    for ln in errors:
        m = ERROR_LINE.match(ln)
        assert m, f"error names no file or field: {ln}"
        where = m["where"]
        assert where.startswith("--set") or (base / where).exists() or Path(where).exists(), ln
        whole_file = any(s in ln for s in ("expected a mapping of fields", "this is a network file",
                                           "this is a scenario file", "not UTF-8", "runs on any date",
                                           "neither calendar.txt nor", "the file has no",
                                           "no route to import"))
        assert m["line"] or m["field"] or whole_file, f"error names neither a line nor a field: {ln}"
    return "exit 2"


def _copy_inputs(base: Path, feed: Path) -> None:
    shutil.copytree(REPO / "networks", base / "networks")
    shutil.copytree(REPO / "scenarios", base / "scenarios")
    (base / "toy").mkdir()
    for name in ("toy_net.yaml", "toy_scn.yaml"):
        shutil.copy(FIXTURES / name, base / "toy" / name)
    (base / "toy" / "sw.yaml").write_text(yaml.safe_dump(TOY_SWEEP, sort_keys=False), encoding="utf-8")
    shutil.copytree(feed, base / "toy" / "feed")


def _runs(path: Path) -> int:
    """How many runs the sweep file at `path` has (0 when it does not load)."""
    from sim.errors import UserError
    from sim.sweep import load_sweep

    try:
        return len(load_sweep(path).runs())
    except UserError:
        return 0


def _toy_feed(root: Path) -> Path:
    """The toy network exported as a GTFS feed folder (the tables the import fuzz mutates)."""
    from sim.gtfs import export_feed
    from sim.scenario import load_network

    export_feed(load_network(FIXTURES / "toy_net.yaml")[0], root / "feed.zip")
    with zipfile.ZipFile(root / "feed.zip") as z:
        z.extractall(root / "feed")
    return root / "feed"


def test_fuzzed_inputs_end_in_a_run_or_a_clear_error(capsys):
    tally: Counter[str] = Counter()
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    feed = _toy_feed(root)

    @settings(max_examples=EXAMPLES, derandomize=SEED is None, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no tracing: it slows the cases 5x
              suppress_health_check=list(HealthCheck))
    @seed(int(SEED or 0))
    @given(target=st.sampled_from(TARGETS), kind=st.sampled_from(MUTATIONS), pick=st.integers(0, 2**20),
           value=st.sampled_from(NUMBERS + OTHERS))
    def case(target, kind, pick, value):
        base = Path(tempfile.mkdtemp(dir=root))
        try:
            _copy_inputs(base, feed)
            mutated, command = target
            path = base / mutated
            if kind == "number" and not isinstance(value, (int, float, str)):
                value = NUMBERS[pick % len(NUMBERS)]
            mutate = _mutate_csv if path.suffix == ".txt" else _mutate
            path.write_text(mutate(path.read_text(encoding="utf-8"), kind, pick, value), encoding="utf-8")
            verb, file = command.split()
            if verb == "sweep" and _runs(path) > SWEEP_RUNS:
                verb = "validate"  # a long sweep is work, not a hang: its file is still checked whole
            argv = [verb, str(base / file)]
            if verb == "sweep":
                argv += ["--out", str(base / "out"), "--quiet", "--workers", "1"]
            if verb == "import-gtfs":
                argv += ["--out", str(base / "out.yaml")]
            if verb == "run":
                argv += ["--out", str(base / "out"), "--quiet", "--no-plots"]
                if not (file.startswith("toy/") and pick % 4 == 0):  # else the toy's own total, maybe mutated
                    argv += ["--set", f"demand.total={TOTAL}"]
            err = io.StringIO()
            with _guarded(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(argv)
            tally[_check(base, argv, code, err.getvalue())] += 1
        finally:
            shutil.rmtree(base, ignore_errors=True)

    try:
        case()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        with capsys.disabled():
            print(f"\nfuzzed inputs: {sum(tally.values())} cases: "
                  + ", ".join(f"{n} {label}" for label, n in sorted(tally.items())))
