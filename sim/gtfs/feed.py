"""Reading a GTFS feed (a zip file or a folder) into tables of strings, with the line of every row.

Every value is read as text ('' when empty); the line of a row in its file is its index + 2 (the
header is line 1; GTFS forbids line breaks inside values, and blank lines are kept as rows so that
the count stays right). Problems name the file, the field and the line, and are raised as
`UserError`s: a handful of each kind, then how many more.

A feed is read within bounds, checked before anything is read: only regular files (a pipe, a device
or a link to one, in a folder or in the zip, is refused unread), each file and all of them together
at most MAX_TABLE_BYTES and MAX_FEED_BYTES, a zip of at most MAX_ZIP_ENTRIES whose files expand at
most MAX_RATIO times, files of at most MAX_COLUMNS columns and MAX_VALUES values; so a hostile or
damaged feed ends in a UserError within seconds.
"""

from __future__ import annotations

import contextlib
import functools
import io
import lzma
import os
import re
import stat
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from ..errors import Problem, UserError
from ..schema import MAX_CLOCK_S
from ..units import format_time

SHOWN = 5
"""Problems of one kind shown before the rest are counted."""
TABLES = frozenset({
    "agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt", "calendar.txt", "calendar_dates.txt",
    "frequencies.txt", "transfers.txt", "translations.txt", "fare_attributes.txt", "fare_rules.txt",
    "fare_media.txt", "fare_products.txt", "fare_leg_rules.txt", "rider_categories.txt", "route_networks.txt",
    "areas.txt", "stop_areas.txt", "fare_transfer_rules.txt", "fare_leg_join_rules.txt"})
"""The files read (others, such as shapes.txt, are not used)."""
MAX_TABLE_BYTES = 256_000_000
"""Largest file read (bytes, uncompressed): about five million stop_times rows, several times a
city's network of a million (50-80 MB, imported in 16 s with a peak of 0.5 GB). An import holds
about seven times the text (measured: 200 MB of stop_times.txt, 4.7 million rows, peaks at 1.5 GB
and takes 76 s; 250 MB at 1.8 GB in 2 minutes). Larger files, such as a country's stop_times,
would need more memory than many machines have: they are refused at once, with the advice to cut
the feed to the routes wanted."""
MAX_FEED_BYTES = 512_000_000
"""Largest total of the files read (bytes, uncompressed): their tables are held together."""
MAX_RATIO = 100
"""Most times a file in a zip may expand (uncompressed over compressed size, for files over
_RATIO_FROM): CSV tables compress 5 to 20 times; deflate reaches about 1,000 on long runs of one
byte, as zip bombs use."""
_RATIO_FROM = 1_000_000
"""Size (bytes, uncompressed) from which MAX_RATIO applies: small files may compress oddly."""
MAX_COLUMNS = 1_000
"""Most columns in a file's header: GTFS files have fewer than 30, and each column costs time on its
own (100,000 columns of one row took minutes)."""
MAX_VALUES = 100_000_000
"""Most values in the files read together (each file's lines times its header's columns): pandas
holds every value in about 10 bytes however short it is, so that 50 MB of empty lines (300 million
values) took 3.4 GB. 256 MB of stop_times.txt of ten columns are about 40 million."""
MAX_ZIP_ENTRIES = 10_000
"""Most entries in a zip. GTFS names fewer than 40 files, and the zip's list is read in full before
any file: each entry costs about 0.5 kB and 8 us (a million: 560 MB and 8 s)."""

_TIME = r"[0-9]{1,3}:[0-5][0-9]:[0-5][0-9]"
"""A GTFS time, as values are read (stripped); ASCII digits only."""
_BLANK = re.compile(rb"(?:\xef\xbb\xbf)?\s*")
_LINE_END = re.compile(rb"[\r\n]")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, OSError)
"""What a damaged zip raises while read (NotImplementedError: an unknown version, method or flag;
OSError: bz2's bad data, an offset before the start)."""
_EOCD = b"PK\x05\x06"
_EOCD64, _LOCATOR64 = b"PK\x06\x06", b"PK\x06\x07"
_TOO_LARGE = "a feed this large must be cut to the routes to import first"


def one_line(text: str) -> str:
    """Feed text made safe for one line of a message or a comment: line breaks (every character
    `str.splitlines` splits at), other control characters and the bidirectional overrides that
    reorder how a line is shown, each as a space."""
    return _UNPRINTABLE.sub(" ", text)


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
        """A problem in file `name` of the feed (named `<feed>/<name>`, for a zip too); the feed's
        text it quotes kept to one line (see `one_line`)."""
        return Problem(f"{self.path}/{name}", one_line(column), one_line(message), line)

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
    in the folder that holds stop_times.txt. UserError if the feed cannot be read or is too large."""
    path = Path(path)
    feed = Feed(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UserError.single(str(path), "", "GTFS feed not found (expected a zip file or a folder)") from None
    except OSError as exc:
        raise UserError.single(str(path), "", f"GTFS feed cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        _read_folder(feed)
    elif stat.S_ISREG(mode):
        _read_zip(feed)
    else:
        raise UserError.single(str(path), "", f"GTFS feed is {_kind(mode)}; expected a zip file or a folder")
    if not feed.tables:
        raise UserError.single(str(path), "", "not a GTFS feed: it has none of the GTFS files (agency.txt, stops.txt, ...)")
    return feed


def _read_folder(feed: Feed) -> None:
    """The tables of a folder feed: every file opened and checked before any is read."""
    with contextlib.ExitStack() as stack:
        files: dict[str, tuple[BinaryIO, int]] = {}
        for p in sorted(feed.path.glob("*.txt")):
            if p.name in TABLES:
                f, size = _open_regular(p)
                files[p.name] = (stack.enter_context(f), size)
        _check_sizes(feed, {name: size for name, (_, size) in files.items()}, "size")
        # no more than the size checked, should a file grow meanwhile
        _read_tables(feed, {name: functools.partial(f.read, size) for name, (f, size) in files.items()})


def _read_zip(feed: Feed) -> None:
    """The tables of a zip feed: its list of entries bounded, the entries read checked before any is
    extracted."""
    f, _ = _open_regular(feed.path)
    with f:
        entries = _zip_entries(f)
        if entries > MAX_ZIP_ENTRIES:
            raise UserError.single(str(feed.path), "", f"not a GTFS feed: the zip lists {entries:,} files, more "
                                   f"than the {MAX_ZIP_ENTRIES:,} read")
        try:
            z = zipfile.ZipFile(f)
        except _ZIP_ERRORS:
            raise UserError.single(str(feed.path), "", "not a GTFS feed: expected a zip file or a folder of "
                                   ".txt files") from None
        with z:
            members = _members(feed, z)
            _check_sizes(feed, {name: info.file_size for name, info in members.items()}, "uncompressed size")
            _check_ratios(feed, members)
            _read_tables(feed, {name: functools.partial(_read_member, feed, z, name, info)
                                for name, info in members.items()})


def _open_regular(path: Path) -> tuple[BinaryIO, int]:
    """`path` opened for reading, and its size (bytes), if it is a regular file (links followed);
    UserError naming it otherwise. Looked at before it is opened, since opening a pipe waits for a
    writer and a device may act on being opened, and again once open: O_NONBLOCK keeps the open from
    waiting should the path become a pipe in between."""
    try:
        _check_regular(path, os.stat(path).st_mode)
        f = os.fdopen(os.open(path, _READ), "rb")
    except OSError as exc:
        raise UserError.single(str(path), "", f"cannot be read ({exc.strerror or exc})") from None
    st = os.fstat(f.fileno())
    try:
        _check_regular(path, st.st_mode)
    except UserError:
        f.close()
        raise
    return f, st.st_size


def _check_regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise UserError.single(str(path), "", f"is {_kind(mode)}, not a regular file")


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, by its mode bits."""
    kinds = {stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a pipe (FIFO)",
             stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}
    return kinds.get(stat.S_IFMT(mode), "a special file")


def _zip_entries(f: BinaryIO) -> int:
    """How many entries the end record of the zip `f` lists (0 without one: zipfile then says it is
    not a zip), read before zipfile reads them all."""
    size = f.seek(0, os.SEEK_END)
    f.seek(max(0, size - (22 + 0xFFFF + 20 + 56)))  # the end record, its comment, the ZIP64 locator and record
    tail = f.read()
    k = tail.rfind(_EOCD)
    if k < 0 or len(tail) < k + 22:
        return 0
    entries = int.from_bytes(tail[k + 10:k + 12], "little")
    if entries == 0xFFFF and k >= 76 and tail[k - 20:k - 16] == _LOCATOR64 and tail[k - 76:k - 72] == _EOCD64:
        entries = int.from_bytes(tail[k - 44:k - 36], "little")  # ZIP64: the record before the locator
    return entries


def _members(feed: Feed, z: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The entries of the zip to read, by file name: the tables in the folder that holds
    stop_times.txt; UserError for any that is not a regular file, is encrypted or is listed twice."""
    infos = [i for i in z.infolist() if i.filename.endswith(".txt") and not i.filename.startswith("__MACOSX")]
    root = min((i.filename.rpartition("/")[0] for i in infos if i.filename.endswith("stop_times.txt")), key=len,
               default="")
    out: dict[str, zipfile.ZipInfo] = {}
    problems = []
    for info in infos:
        folder, _, name = info.filename.rpartition("/")
        if folder == root and name in TABLES:
            message = "is listed twice in the zip" if name in out else _member_problem(info)
            if message:
                problems.append(feed.problem(name, "", message))
            out[name] = info
    if problems:
        raise UserError(problems)
    return out


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry of a zip is not read, if it is not: Unix mode bits (the high 16 bits of
    external_attr) of anything but a regular file, or encryption."""
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return f"is {_kind(mode)} in the zip, not a regular file"
    if info.flag_bits & 0x1:
        return "is encrypted"
    return None


def _check_sizes(feed: Feed, sizes: dict[str, int], what: str) -> None:
    """UserError for files larger than MAX_TABLE_BYTES, or together larger than MAX_FEED_BYTES."""
    problems = [feed.problem(name, "", f"{what} {_size(n)} exceeds the limit of {_size(MAX_TABLE_BYTES)}; {_TOO_LARGE}")
                for name, n in sizes.items() if n > MAX_TABLE_BYTES]
    total = sum(sizes.values())
    if not problems and total > MAX_FEED_BYTES:
        problems.append(Problem(str(feed.path), "", f"the GTFS files read add up to {_size(total)}, more than the "
                                                    f"limit of {_size(MAX_FEED_BYTES)}; {_TOO_LARGE}"))
    if problems:
        raise UserError(problems)


def _check_ratios(feed: Feed, members: dict[str, zipfile.ZipInfo]) -> None:
    """UserError for entries that expand more than MAX_RATIO times, as zip bombs do (within the
    size limits, such an entry would still be read and parsed in vain)."""
    bombs = [feed.problem(name, "", f"expands {info.file_size / max(info.compress_size, 1):,.0f} times (to "
                                    f"{_size(info.file_size)}), more than the {MAX_RATIO} of any table: not a GTFS file")
             for name, info in members.items() if info.file_size > max(_RATIO_FROM, MAX_RATIO * info.compress_size)]
    if bombs:
        raise UserError(bombs)


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def _read_member(feed: Feed, z: zipfile.ZipFile, name: str, info: zipfile.ZipInfo) -> bytes:
    """The bytes of an entry of the zip: no more than its header declares (and MAX_TABLE_BYTES
    allows), however much its data would expand to; zipfile stops there too and fails the CRC check
    if the data goes on."""
    try:
        with z.open(info) as f:
            return f.read(info.file_size)
    except _ZIP_ERRORS as exc:
        reason = str(exc) or "its data ends early"  # EOFError says nothing
        raise UserError([feed.problem(name, "", f"cannot be read from the zip ({reason})")]) from None


def _read_tables(feed: Feed, files: dict[str, Callable[[], bytes]]) -> None:
    """Each file read (by its function) and parsed in turn, so that the bytes of one are held at a
    time; the values of each counted before it is parsed, at most MAX_VALUES in all."""
    before = 0
    for name, read in files.items():
        data = read()
        columns, lines = _shape(feed, name, data)
        if before + columns * lines > MAX_VALUES:
            also = f" ({before:,} more in the files before it)" if before else ""
            raise UserError([feed.problem(name, "", f"{lines:,} lines of {columns:,} columns make {columns * lines:,} "
                                                    f"values{also}, more than the {MAX_VALUES:,} read; {_TOO_LARGE}")])
        before += columns * lines
        feed.tables[name] = _read_table(feed, name, data)


def _shape(feed: Feed, name: str, data: bytes) -> tuple[int, int]:
    """The columns of a CSV file's header and its lines (counting any line break inside quotes too),
    which bound the values pandas will hold: short rows are filled, blank lines are rows. UserError
    for more than MAX_COLUMNS columns."""
    if _BLANK.fullmatch(data):
        return 0, 0
    end = _LINE_END.search(data)
    columns = data.count(b",", 0, end.start() if end else len(data)) + 1
    if columns > MAX_COLUMNS:
        raise UserError([feed.problem(name, "", f"the header has {columns:,} columns, more than the {MAX_COLUMNS:,} "
                                                "read: not a GTFS table", 1)])
    return columns, max(data.count(b"\n"), data.count(b"\r")) + (not data.endswith((b"\n", b"\r")))


def _read_table(feed: Feed, name: str, data: bytes) -> pd.DataFrame:
    """One CSV file as strings, the header's names and the values stripped, blank rows dropped;
    UserError for bad encoding, a column named twice, or a row with more fields than the header
    (rows with fewer have their last values missing, '')."""
    if _BLANK.fullmatch(data):
        return pd.DataFrame()
    try:
        # header=None: the header is the first row, so that no row can have one field more than it
        # unnoticed (pandas would take a first row of one more field as the index, shifting columns)
        df = pd.read_csv(io.BytesIO(data), header=None, dtype=str, encoding="utf-8-sig", keep_default_na=False,
                         na_filter=False, skip_blank_lines=False)
    except UnicodeDecodeError:
        raise _encoding_error(feed, name, data) from None
    except pd.errors.EmptyDataError:
        raise UserError([feed.problem(name, "", "not valid CSV: the first line is empty (it must name the "
                                                "columns)", 1)]) from None
    except pd.errors.ParserError as exc:
        raise UserError([_csv_problem(feed, name, str(exc))]) from None
    names = [c.strip() for c in df.iloc[0]]
    twice = [c for c, n in Counter(names).items() if c and n > 1]
    if twice:
        raise UserError([feed.problem(name, c, "column named twice in the header", 1) for c in twice])
    df = df.iloc[1:].set_axis(names, axis=1).reset_index(drop=True)
    df = df.loc[:, [c != "" for c in names]]  # unnamed columns (a comma ending the header) hold nothing used
    for c in df.columns:  # one column at a time, so that the copy costs one column's memory
        df[c] = df[c].str.strip()
    blank = (df == "").all(axis=1)
    return df[~blank] if blank.any() else df


def _encoding_error(feed: Feed, name: str, data: bytes) -> UserError:
    """The first byte of `data` that is not UTF-8, with its line."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return UserError([feed.problem(name, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                       data.count(b"\n", 0, exc.start) + 1)])
    return UserError([feed.problem(name, "", "not UTF-8 text")])


def _csv_problem(feed: Feed, name: str, message: str) -> Problem:
    """pandas' complaint about a CSV file as a problem at its line."""
    message = message.replace("Error tokenizing data. C error: ", "").strip()
    extra = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if extra:
        return feed.problem(name, "", f"not valid CSV: row has {extra[3]} fields, the header has {extra[1]}",
                            int(extra[2]))
    row = re.search(r"starting at row (\d+)", message)  # an unclosed quote; rows count from 0, the header's
    line = re.search(r"line (\d+)", message)
    return feed.problem(name, "", f"not valid CSV: {message}",
                        int(row[1]) + 1 if row else int(line[1]) if line else None)


def parse_times(feed: Feed, name: str, column: str, values: pd.Series) -> np.ndarray:
    """GTFS times 'H:MM:SS' (hours may pass 24, up to 72:00:00, where the simulated clock ends) to
    seconds since service-day midnight; NaN where empty; UserError naming the rows of any other
    value. Matched and cut in pandas' string arrays, without a Python object per value (a large
    stop_times has millions)."""
    timed = (values != "").to_numpy(dtype=bool)
    bad = values.index[timed & ~values.str.fullmatch(_TIME).to_numpy(dtype=bool)]
    if len(bad):
        raise feed.rows_problem(name, column, bad, lambda i: f"bad time '{values.loc[i]}' (expected HH:MM:SS; "
                                                             "hours may pass 24, e.g. 25:10:00)")
    given = values[timed]
    hms = (given.str.slice(0, -6), given.str.slice(-5, -3), given.str.slice(-2))
    seconds = np.full(len(values), np.nan)
    seconds[timed] = sum(part.astype("int64").to_numpy() * unit for part, unit in zip(hms, (3600, 60, 1)))
    late = values.index[seconds > MAX_CLOCK_S]
    if len(late):
        raise feed.rows_problem(name, column, late, lambda i: f"time '{values.loc[i]}' is past "
                                                              f"{format_time(MAX_CLOCK_S)}, the latest the simulator "
                                                              "keeps (the end of a third service day)")
    return seconds


def parse_numbers(feed: Feed, name: str, column: str, values: pd.Series, integer: bool = False,
                  minimum: float | None = None, required: bool = False) -> np.ndarray:
    """Finite numbers (NaN where empty); UserError naming the rows that are not numbers (or are
    infinite, not whole, below `minimum`, or empty when `required`)."""
    nums = pd.to_numeric(values.where(values != ""), errors="coerce").to_numpy(dtype=float)
    bad = np.isinf(nums) | (np.isnan(nums) & ((values != "").to_numpy() | required))
    if integer:
        bad |= np.isfinite(nums) & (nums != np.round(nums))
    if minimum is not None:
        bad |= nums < minimum
    if bad.any():
        kind = "a whole number" if integer else "a number"
        if minimum is not None:
            kind += f" of at least {minimum:g}"
        raise feed.rows_problem(name, column, values.index[bad], lambda i: f"expected {kind}, got '{values.loc[i]}'")
    return nums
