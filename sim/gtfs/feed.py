"""Reading a GTFS feed (a zip file or a folder) into tables of strings, with the line of every row.

Every value is read as text ('' when empty); the line of a row in its file is its index + 2 (the
header is line 1; GTFS forbids line breaks inside values, and blank lines are kept as rows so that
the count stays right). Problems name the file, the field and the line, and are raised as
`UserError`s: a handful of each kind, then how many more.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import Problem, UserError

SHOWN = 5
"""Problems of one kind shown before the rest are counted."""
TABLES = frozenset({
    "agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt", "calendar.txt", "calendar_dates.txt",
    "frequencies.txt", "transfers.txt", "translations.txt", "fare_attributes.txt", "fare_rules.txt",
    "fare_media.txt", "fare_products.txt", "fare_leg_rules.txt", "rider_categories.txt", "route_networks.txt"})
"""The files read (others, such as shapes.txt, are not used)."""

_TIME = re.compile(r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$")


@dataclass
class Feed:
    """The tables of a feed by file name ('stops.txt' -> DataFrame of str), blank rows dropped,
    index = row number (line = index + 2)."""

    path: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether the feed has file `name`, with rows."""
        return name in self.tables and not self.tables[name].empty

    def table(self, name: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> pd.DataFrame:
        """The table `name` with its `required` columns (UserError if the file or a column is
        missing) and its `optional` ones (filled with '' when absent)."""
        if name not in self.tables:
            raise UserError([self.problem(name, "", "required file is missing from the feed")])
        df = self.tables[name]
        missing = [c for c in required if c not in df.columns]
        if missing:
            raise UserError([self.problem(name, c, "required column is missing", 1) for c in missing])
        for c in optional:
            if c not in df.columns:
                df[c] = ""
        return df

    def optional(self, name: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> pd.DataFrame | None:
        """Like `table`, or None when the feed has no such file (or it has no rows)."""
        return self.table(name, required, optional) if self.has(name) else None

    def problem(self, name: str, column: str, message: str, line: int | None = None) -> Problem:
        """A problem in file `name` of the feed (named `<feed>/<name>`, for a zip too)."""
        return Problem(f"{self.path}/{name}", column, message, line)

    def rows_problem(self, name: str, column: str, rows, message: Callable[[int], str] | str) -> UserError:
        """A problem at each of the first `rows` (row numbers; the message may depend on the row),
        and how many more there are."""
        rows = list(rows)
        shown = [self.problem(name, column, message(i) if callable(message) else message, int(i) + 2)
                 for i in rows[:SHOWN]]
        if len(rows) > SHOWN:
            shown.append(self.problem(name, column, f"... and {len(rows) - SHOWN} more rows like these"))
        return UserError(shown)

    def check_known(self, name: str, column: str, values: pd.Series, known, what: str, where: str = "") -> None:
        """UserError naming the rows of `name` whose `column` is not among `known` (ids of `what`,
        defined in file `where`)."""
        bad = values.index[~values.isin(known)]
        if len(bad):
            hint = f" (not in {where})" if where else ""
            raise self.rows_problem(name, column, bad, lambda i: f"unknown {what} '{values.loc[i]}'{hint}")


def read_feed(path: str | Path) -> Feed:
    """The tables of the feed at `path` (zip or folder) that the import uses; in a zip they may also sit
    in the folder that holds stop_times.txt. UserError if the feed cannot be read."""
    path = Path(path)
    feed = Feed(path)
    if path.is_dir():
        for f in sorted(path.glob("*.txt")):
            if f.name in TABLES:
                feed.tables[f.name] = _read_table(feed, f.name, f.read_bytes())
    elif path.is_file():
        try:
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.endswith(".txt") and not n.startswith("__MACOSX")]
                root = min((n.rpartition("/")[0] for n in names if n.endswith("stop_times.txt")), key=len, default="")
                for n in names:
                    if n.rpartition("/")[0] == root and n.rpartition("/")[2] in TABLES:
                        feed.tables[n.rpartition("/")[2]] = _read_table(feed, n.rpartition("/")[2], z.read(n))
        except zipfile.BadZipFile:
            raise UserError.single(str(path), "", "not a GTFS feed: expected a zip file or a folder of .txt files") from None
    else:
        raise UserError.single(str(path), "", "GTFS feed not found (expected a zip file or a folder)")
    if not feed.tables:
        raise UserError.single(str(path), "", "not a GTFS feed: it has none of the GTFS files (agency.txt, stops.txt, ...)")
    return feed


def _read_table(feed: Feed, name: str, data: bytes) -> pd.DataFrame:
    """One CSV file as strings; UserError for bad encoding or rows with the wrong number of fields."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError([feed.problem(name, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    if not text.strip():
        return pd.DataFrame()
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
                         skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise UserError([feed.problem(name, "", f"not valid CSV: {exc}".replace("Error tokenizing data. C error: ", ""),
                                      int(m.group(1)) if m else None)]) from None
    df.columns = [str(c).strip() for c in df.columns]
    df = df.apply(lambda col: col.str.strip())
    blank = (df == "").all(axis=1)
    return df[~blank] if blank.any() else df


def parse_times(feed: Feed, name: str, column: str, values: pd.Series) -> np.ndarray:
    """GTFS times 'H:MM:SS' (hours may pass 24) to seconds since service-day midnight; NaN where
    empty; UserError naming the rows of any other value."""
    parts = values.str.extract(_TIME)
    bad = values.index[parts[0].isna() & (values != "")]
    if len(bad):
        raise feed.rows_problem(name, column, bad, lambda i: f"bad time '{values.loc[i]}' (expected HH:MM:SS; "
                                                             "hours may pass 24, e.g. 25:10:00)")
    h, m, s = (pd.to_numeric(parts[k]).to_numpy(dtype=float) for k in range(3))
    return h * 3600.0 + m * 60.0 + s


def parse_numbers(feed: Feed, name: str, column: str, values: pd.Series, integer: bool = False,
                  minimum: float | None = None, required: bool = False) -> np.ndarray:
    """Numbers (NaN where empty); UserError naming the rows that are not numbers (or not whole,
    or below `minimum`, or empty when `required`)."""
    nums = pd.to_numeric(values.where(values != ""), errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(nums) & ((values != "").to_numpy() | required)
    if integer:
        bad |= ~np.isnan(nums) & (nums != np.round(nums))
    if minimum is not None:
        bad |= nums < minimum
    if bad.any():
        kind = "a whole number" if integer else "a number"
        if minimum is not None:
            kind += f" of at least {minimum:g}"
        raise feed.rows_problem(name, column, values.index[bad], lambda i: f"expected {kind}, got '{values.loc[i]}'")
    return nums
