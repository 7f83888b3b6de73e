"""Service days: which services run on a date (calendar.txt and calendar_dates.txt), and the date
with the most trips."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import UserError
from .feed import Feed

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class ServiceDay:
    """The service date imported, the services running on it and why it was chosen."""

    date: dt.date
    services: frozenset[str]
    reason: str

    @property
    def text(self) -> str:
        """The date as YYYYMMDD."""
        return self.date.strftime("%Y%m%d")


def parse_date(text: str) -> dt.date:
    """'YYYYMMDD' (or 'YYYY-MM-DD') to a date; ValueError otherwise."""
    m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})", text.strip())
    if not m:
        raise ValueError(f"expected a date as YYYYMMDD, got '{text}'")
    return dt.date(*(int(g) for g in m.groups()))


def _dates(feed: Feed, name: str, column: str, values: pd.Series) -> np.ndarray:
    """Dates (YYYYMMDD) as proleptic ordinals; UserError naming the rows of bad ones."""
    out = np.empty(len(values), dtype=np.int64)
    bad = []
    for k, (i, v) in enumerate(values.items()):
        try:
            out[k] = parse_date(v).toordinal() if len(v) == 8 else -1
        except ValueError:
            out[k] = -1
        if out[k] < 0:
            bad.append(i)
    if bad:
        raise feed.rows_problem(name, column, bad, lambda i: f"bad date '{values.loc[i]}' (expected YYYYMMDD)")
    return out


def service_days(feed: Feed) -> dict[str, set[int]]:
    """Every service's dates (proleptic ordinals): calendar.txt's weekly pattern between its start and
    end dates, with calendar_dates.txt's additions (exception_type 1) and removals (2)."""
    cal = feed.optional("calendar.txt", ("service_id", *WEEKDAYS, "start_date", "end_date"))
    exc = feed.optional("calendar_dates.txt", ("service_id", "date", "exception_type"))
    if cal is None and exc is None:
        raise UserError([feed.problem("calendar.txt", "", "the feed has neither calendar.txt nor calendar_dates.txt "
                                                          "(one of them is required)")])
    days: dict[str, set[int]] = {}
    if cal is not None:
        start = _dates(feed, "calendar.txt", "start_date", cal["start_date"])
        end = _dates(feed, "calendar.txt", "end_date", cal["end_date"])
        for day in WEEKDAYS:
            bad = cal.index[~cal[day].isin(["0", "1"])]
            if len(bad):
                def not_a_flag(i: int, d: str = day) -> str:
                    return f"expected 0 or 1, got '{cal.loc[i, d]!s}'"  # calendar.txt is read as text

                raise feed.rows_problem("calendar.txt", day, bad, not_a_flag)
        flags = cal[list(WEEKDAYS)].to_numpy() == "1"
        for sid, a, b, week in zip(cal["service_id"], start, end, flags):
            span = np.arange(a, b + 1)
            days.setdefault(sid, set()).update(span[week[(span - 1) % 7]].tolist())
    if exc is not None:
        dates = _dates(feed, "calendar_dates.txt", "date", exc["date"])
        bad = exc.index[~exc["exception_type"].isin(["1", "2"])]
        if len(bad):
            raise feed.rows_problem("calendar_dates.txt", "exception_type", bad,
                                    lambda i: f"expected 1 (added) or 2 (removed), got '{exc.loc[i, 'exception_type']!s}'")
        for sid, date, kind in zip(exc["service_id"], dates, exc["exception_type"]):
            (days.setdefault(sid, set()).add if kind == "1" else days.setdefault(sid, set()).discard)(int(date))
    return days


def choose_day(feed: Feed, trips_per_service: Counter, date: str | None) -> ServiceDay:
    """The services running on `date` (YYYYMMDD), or on the date with the most of the selected
    trips (the earliest of equals) when no date is given; UserError when none of them runs then."""
    days = service_days(feed)
    count: Counter = Counter()
    for sid, n in trips_per_service.items():
        for d in days.get(sid, ()):
            count[d] += n
    if date is None:
        if not count:
            raise UserError([feed.problem("calendar.txt", "", "none of the selected trips runs on any date")])
        best = min(count, key=lambda d: (-count[d], d))
        day, reason = dt.date.fromordinal(best), f"the date with the most trips: {count[best]:,}"
    else:
        try:
            day = parse_date(date)
        except ValueError as exc:
            raise UserError.single("", "--date", str(exc)) from None
        reason = "as asked"
    services = frozenset(sid for sid in trips_per_service if day.toordinal() in days.get(sid, ()))
    if not services:
        span = (f"; the selected trips run from {dt.date.fromordinal(min(count)):%Y%m%d} to "
                f"{dt.date.fromordinal(max(count)):%Y%m%d}, most on "
                f"{dt.date.fromordinal(min(count, key=lambda d: (-count[d], d))):%Y%m%d}") if count else ""
        name = "calendar.txt" if feed.has("calendar.txt") else "calendar_dates.txt"
        raise UserError([feed.problem(name, "date", f"no service on {day:%Y%m%d}: none of the selected trips "
                                                    f"runs that day{span}")])
    return ServiceDay(day, services, reason)
