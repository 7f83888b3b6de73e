"""Fares: each operator's distance tariff, fare integration between operators, and revenue clearing.

A trip's legs form sections: consecutive legs on one operator, charged together by that operator's
tariff: by their total km (distance tariffs), by the zones of the first boarding, last alighting and
every station between (zone tariffs) or by the first and last station (OD tables). A boarding later
than the operator's transfer window after the section's first, or past its number of changes,
begins a new section (see PieceTimes). Where a fare rule joins operators (network `fare_integration`), a run of
two or more consecutive sections on operators of the rule is charged by the rule (a through fare
or a transfer discount) and the fare is shared out between the sections by the rule's clearing
key. Every fare is attributed to the first leg of its section, so revenue per operator is the sum
of leg fares and always adds up to the fares paid.

A through leg (a train running onto another operator's track) is cut into pieces, one per operator
section of its track: `piece_fares` and `leg_fares` price lists of legs (routes) by their pieces.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from .errors import UserError
from .fare_tables import ZoneTable
from .network import FareRule, Network
from .schema import FareSpec


def operator_fares(fare: FareSpec, km: np.ndarray, medium: str) -> np.ndarray:
    """Fares in CNY for riding each of `km` on one operator's network paid with `medium`.

    distance_bands: base_cny up to base_km, then each band adds one CNY per started km_per_cny km
    (Shanghai Metro: 3 CNY to 6 km, 4 CNY to 16 km, +1 CNY per 10 km beyond). per_km: rate times
    km, whole CNY with 0.5 and below rounded down, at least minimum_cny. Media factors (discounts)
    apply last, rounded to 0.01 CNY.
    """
    km = np.asarray(km, dtype=float)
    if fare.kind == "per_km":
        base = np.maximum(fare.minimum_cny, np.ceil(fare.rate_cny_per_km * km - 0.5 - 1e-9))
    else:
        base = np.full(km.shape, float(fare.base_cny))
        lower = fare.base_km
        for band in fare.bands:
            upper = band.up_to_km if band.up_to_km is not None else np.inf
            span = np.clip(np.minimum(km, upper) - lower, 0.0, None)
            base += np.where(span > 1e-9, np.ceil(span / band.km_per_cny - 1e-9), 0.0)
            lower = upper
    return np.round(base * fare.media_factor.get(medium, 1.0), 2)


def operator_fare(fare: FareSpec, km: float, medium: str) -> float:
    """Fare in CNY for one ride of `km` (see operator_fares)."""
    return float(operator_fares(fare, np.asarray([km]), medium)[0])


class LegPieces(Protocol):
    """Leg options as fares see them (routing.LegNetwork): the track of leg k as pieces
    piece_start[k] .. piece_start[k + 1] - 1, one per operator section, in order."""

    operator: np.ndarray
    """The operator of each leg's platform (int64 per leg)."""
    n_pieces: np.ndarray
    """Pieces per leg (int64 per leg)."""
    piece_start: np.ndarray
    """First piece of each leg, and the number of pieces at the end (int64)."""
    piece_operator: np.ndarray
    """Operator of each piece (int64)."""
    piece_km: np.ndarray
    """Length of each piece (km)."""
    piece_board: np.ndarray
    """First station of each piece (int64)."""
    piece_alight: np.ndarray
    """Last station of each piece (int64)."""
    ivt_s: np.ndarray
    """Mean in-vehicle time of each leg (s)."""
    band_wait: np.ndarray
    """Expected wait at each leg [start band, leg] (s)."""

    def zone_bits(self, operator: int, zone_of: np.ndarray) -> np.ndarray: ...


class PieceWhere(NamedTuple):
    """Where and when the pieces of rows ride (matrices like the pieces' operators): for zone and OD
    tariffs and transfer windows."""

    board: np.ndarray
    """First station of each piece (int64)."""
    alight: np.ndarray
    """Last station of each piece (int64)."""
    zones: np.ndarray
    """Zone bits of each piece under its operator's zone tariff (int64; 0 for other tariffs)."""
    t_board: np.ndarray
    """Boarding time of each piece's leg (s, from any origin of time)."""
    new_leg: np.ndarray
    """Whether each piece begins a leg (a boarding), rather than continuing a through train (bool)."""


class FareSystem:
    """The fares of a network for media `media` (indices into this tuple are medium codes)."""

    def __init__(self, network: Network, media: tuple[str, ...]) -> None:
        self.net = network
        self.media = media
        ops = network.operators
        self.window_s = np.asarray([op.fare.transfer_window_s or np.inf for op in ops] + [np.inf])
        """Transfer window of each operator (s; inf: none), and of padding (-1) last."""
        self.max_changes = np.asarray([np.inf if op.fare.max_transfers is None else op.fare.max_transfers
                                       for op in ops] + [np.inf])
        self.timed = bool(np.isfinite(self.window_s).any() or np.isfinite(self.max_changes).any())
        """Whether some operator's fare depends on when and how often riders change trains."""
        self.windowed = bool(np.isfinite(self.window_s).any())
        """Whether some operator's fare depends on when riders board (a transfer window; a limit on
        the number of changes depends on the legs alone)."""
        self.located = any(op.table is not None for op in ops)
        """Whether some operator charges by zone or by pair of stations."""

    def time_dependent(self, legs: LegPieces, rows: np.ndarray) -> np.ndarray:
        """Per row of `rows` (leg indices, -1 padded at the end): whether its fares may depend on the
        boarding times, that is whether some leg boards a train of the operator of the leg before and
        that operator has a transfer window (a change within one fare section, which the window may
        end: see _section_starts). The fares of the other rows are the same at any times."""
        rows = np.asarray(rows)
        if not self.windowed or rows.shape[1] < 2:
            return np.zeros(len(rows), dtype=bool)
        safe = np.maximum(rows, 0)
        first_op = legs.piece_operator[legs.piece_start[safe]]  # of each leg's first piece
        last_op = legs.piece_operator[legs.piece_start[safe + 1] - 1]  # of each leg's last piece
        change = (rows[:, 1:] >= 0) & (first_op[:, 1:] == last_op[:, :-1])
        return (change & np.isfinite(self.window_s[first_op[:, 1:]])).any(axis=1)

    def fare_classes(self) -> np.ndarray:
        """A class code per medium (in `media` order): media of one class pay the same fare for
        any ride (the same discount on every operator, after its fallback medium, and the same
        part in every fare rule), so one of them priced prices all."""
        def signature(name: str) -> tuple:
            ops = tuple(op.fare.media_factor.get(self.effective_medium(name, o), 1.0)
                        for o, op in enumerate(self.net.operators))
            rules = tuple((rule.media is None or name in rule.media,
                           rule.tariff.media_factor.get(name, 1.0) if rule.tariff is not None else 1.0)
                          for rule in self.net.fare_rules)
            return ops, rules
        first: dict[tuple, int] = {}
        return np.asarray([first.setdefault(signature(m), len(first)) for m in self.media], dtype=np.int64)

    def effective_medium(self, medium: str, operator: int) -> str:
        """The medium actually used on an operator (its fallback if it does not accept `medium`)."""
        op = self.net.operators[operator]
        if op.accepts is None or medium in op.accepts:
            return medium
        return op.fallback_medium or medium

    def section_fares(self, op: np.ndarray, km: np.ndarray, medium: np.ndarray,
                      where: PieceWhere | None = None) -> np.ndarray:
        """Fare attributed to each leg of each row: `op` and `km` per leg (op -1 for padding),
        `medium` a code per row, `where` the pieces' stations and times (needed when some operator
        charges by zone or pair of stations or has a transfer window). See the module docstring."""
        n, width = op.shape
        valid = op >= 0
        start = self._section_starts(op, valid, where)
        section = np.cumsum(start, axis=1) - 1
        rows = np.arange(n)
        # per section (columns 0 .. n_sections-1): operator, km, stand-alone fare
        sec_op = np.full((n, width), -1, dtype=np.int64)
        sec_km = np.zeros((n, width))
        for j in range(width):
            sec_km[rows[valid[:, j]], section[valid[:, j], j]] += km[valid[:, j], j]
            sec_op[rows[start[:, j]], section[start[:, j], j]] = op[start[:, j], j]
        sec_fare = np.zeros((n, width))
        located = self._located_sections(where, valid, start, section) if self.located and where is not None else None
        for o, operator in enumerate(self.net.operators):
            for m, name in enumerate(self.media):
                mask = (sec_op == o) & (medium[:, None] == m)
                if not mask.any():
                    continue
                effective = self.effective_medium(name, o)
                if operator.table is None:
                    sec_fare[mask] = operator_fares(operator.fare, sec_km[mask], effective)
                elif located is None:
                    raise ValueError("zone and OD tariffs need the pieces' stations (where)")
                else:
                    sec_fare[mask] = self._table_fares(o, located, mask, effective)
        for rule in self.net.fare_rules:
            if rule.policy != "separate":
                self._integrate(rule, sec_op, sec_km, sec_fare, medium)
        out = np.zeros((n, width))
        out[start] = sec_fare[rows[:, None].repeat(width, 1)[start], section[start]]
        return out

    def _section_starts(self, op: np.ndarray, valid: np.ndarray, where: PieceWhere | None) -> np.ndarray:
        """Whether each piece begins a fare section: a change of operator, or a boarding past the
        operator's transfer window (from the section's first boarding) or number of changes."""
        n = op.shape[0]
        start = valid & np.concatenate([np.ones((n, 1), bool), op[:, 1:] != op[:, :-1]], axis=1)
        if not self.timed or where is None:
            return start
        # column by column, as each piece's section depends on where the one before began
        t0 = np.full(n, np.nan)
        changes = np.zeros(n)
        for j in range(op.shape[1]):
            change = valid[:, j] & ~start[:, j] & where.new_leg[:, j]
            late = where.t_board[:, j] - t0 > self.window_s[op[:, j]] + 1e-9
            start[:, j] |= change & (late | (changes + 1 > self.max_changes[op[:, j]]))
            t0 = np.where(start[:, j], where.t_board[:, j], t0)
            changes = np.where(start[:, j], 0, changes + change)
        return start

    def _located_sections(self, where: PieceWhere, valid: np.ndarray, start: np.ndarray,
                          section: np.ndarray) -> PieceWhere:
        """Per section (columns as in section_fares): its first station, last station and zone bits
        (the other fields unused)."""
        n, width = valid.shape
        rows = np.arange(n)
        board = np.zeros((n, width), dtype=np.int64)
        alight = np.zeros((n, width), dtype=np.int64)
        zones = np.zeros((n, width), dtype=np.int64)
        for j in range(width):
            v, s = valid[:, j], start[:, j]
            board[rows[s], section[s, j]] = where.board[s, j]
            alight[rows[v], section[v, j]] = where.alight[v, j]  # the last piece of the section wins
            zones[rows[v], section[v, j]] |= where.zones[v, j]
        return PieceWhere(board, alight, zones, np.zeros(0), np.zeros(0, dtype=bool))

    def _table_fares(self, o: int, located: PieceWhere, mask: np.ndarray, medium: str) -> np.ndarray:
        """Fares of the sections `mask` on operator o, whose tariff is a zone or OD table."""
        operator = self.net.operators[o]
        assert operator.table is not None  # the caller's condition
        price = operator.table.prices(located.board[mask], located.alight[mask], located.zones[mask])
        if np.isnan(price).any():
            k = int(np.flatnonzero(np.isnan(price))[0])
            a, b = (self.net.stations[int(x[mask][k])].id for x in (located.board, located.alight))
            raise UserError.single("", f"operators.{operator.id}.fare", f"no fare applies to a ride from '{a}' to '{b}'"
                            + _zones_text(operator, int(located.zones[mask][k]))
                            + "; give its tariff a price for it")
        return np.round(price * operator.fare.media_factor.get(medium, 1.0), 2)

    def _integrate(self, rule: FareRule, sec_op: np.ndarray, sec_km: np.ndarray, sec_fare: np.ndarray,
                   medium: np.ndarray) -> None:
        """Replace, in place, the fares of every run of two or more consecutive sections on the
        rule's operators by the rule's fare, shared by its clearing key."""
        n, width = sec_op.shape
        applies = np.ones(n, dtype=bool) if rule.media is None else np.isin(
            medium, [m for m, name in enumerate(self.media) if name in rule.media])
        inside = np.isin(sec_op, list(rule.operators)) & applies[:, None]
        begins = inside & ~np.concatenate([np.zeros((n, 1), bool), inside[:, :-1]], axis=1)
        run = np.where(inside, np.cumsum(begins, axis=1) - 1 + (np.arange(n) * width)[:, None], -1)
        ids = run[inside]
        size = np.bincount(ids, minlength=n * width)
        crossing = inside & (size[np.maximum(run, 0)] >= 2)
        if not crossing.any():
            return
        ids = run[crossing]
        total_km = np.bincount(ids, weights=sec_km[crossing], minlength=n * width)
        total_fare = np.bincount(ids, weights=sec_fare[crossing], minlength=n * width)
        dearest = np.zeros(n * width)
        np.maximum.at(dearest, ids, sec_fare[crossing])
        if rule.policy == "through":
            assert rule.tariff is not None  # policy through has one (schema.FareRule; unknown operators stop the build)
            charged = np.zeros(n * width)
            row_of = ids // width
            for m, name in enumerate(self.media):
                sel = medium[row_of] == m
                if sel.any():
                    charged[ids[sel]] = operator_fares(rule.tariff, total_km[ids[sel]], name)
        else:  # discount per change of operator
            changes = size - 1
            charged = np.maximum(total_fare - rule.discount_cny * changes, dearest)
        key = sec_km if rule.clearing == "km_share" else sec_fare
        key_total = np.bincount(ids, weights=key[crossing], minlength=n * width)
        share = np.where(key_total[ids] > 0, key[crossing] / np.where(key_total[ids] > 0, key_total[ids], 1.0),
                         1.0 / size[ids])
        part = np.round(charged[ids] * share, 2)
        # the last section of each run takes the rounding remainder, so the parts add up exactly
        last = np.zeros(len(ids), dtype=bool)
        last[:-1] = ids[1:] != ids[:-1]
        last[-1] = True
        paid = np.bincount(ids, weights=part, minlength=n * width)
        part[last] += np.round(charged[ids[last]] - paid[ids[last]], 2)
        sec_fare[crossing] = np.round(part, 2)


def _zones_text(operator, bits: int) -> str:
    """' (zones entered: a, b)' for a zone tariff, '' otherwise."""
    table = operator.table
    if not isinstance(table, ZoneTable):
        return ""
    return " (zones entered: " + ", ".join(z for i, z in enumerate(table.zone_ids) if bits >> i & 1) + ")"


def leg_fares(legs: LegPieces, system: FareSystem, rows: np.ndarray, medium: np.ndarray,
              t_board: np.ndarray | None = None) -> np.ndarray:
    """Fare attributed to each leg of each row of `rows` (leg indices, -1 padded) paid with
    medium code `medium` (per row): see FareSystem; a through leg's operator sections are charged as
    the policy says and added up. `t_board`: the boarding time of each leg (s; see piece_fares)."""
    col, op, _, fare = piece_fares(legs, system, rows, medium, t_board)
    out = np.zeros(rows.shape)
    at_row = np.repeat(np.arange(rows.shape[0]), op.shape[1])
    ok = (op >= 0).ravel()
    # sum the pieces into their legs; the loop would be: out[r, col[r, q]] += fare[r, q] for every piece q of row r
    np.add.at(out, (at_row[ok], col.ravel()[ok]), fare.ravel()[ok])
    return out


def expected_boardings(legs: LegPieces, rows: np.ndarray) -> np.ndarray:
    """The expected time of each leg's boarding after the first's (s): the in-vehicle times of the
    legs before and the mean expected waits (over the start bands) for the legs after the first
    (walks between trains left out)."""
    rows = np.asarray(rows)
    safe = np.maximum(rows, 0)
    step = np.where(rows >= 0, legs.band_wait.mean(axis=0)[safe], 0.0)
    step[:, 0] = 0.0
    step[:, 1:] += np.where(rows[:, :-1] >= 0, legs.ivt_s[safe[:, :-1]], 0.0)
    return np.cumsum(step, axis=1)


def piece_fares(legs: LegPieces, system: FareSystem, rows: np.ndarray, medium: np.ndarray,
                t_board: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row of `rows` (leg indices, -1 padded), its track pieces (one per operator section of each
    leg, in order) as matrices padded with -1 / 0: the leg column of each piece, its operator, km
    and the fare attributed to it (FareSystem on the pieces, medium code `medium` per row).
    `t_board`: the boarding time of each leg, like rows (s), for operators with a transfer window;
    without it, the expected times (expected_boardings)."""
    rows = np.asarray(rows)
    n_p = np.where(rows >= 0, legs.n_pieces[np.maximum(rows, 0)], 0)
    width = max(1, int(n_p.sum(axis=1).max(initial=1)))
    col = np.full((len(rows), width), -1, dtype=np.int64)
    piece = np.full((len(rows), width), -1, dtype=np.int64)
    if (legs.n_pieces == 1).all():  # no through leg: one piece per leg
        valid = rows >= 0
        col[:, :rows.shape[1]] = np.where(valid, np.arange(rows.shape[1]), -1)
        piece[:, :rows.shape[1]] = np.where(valid, legs.piece_start[np.maximum(rows, 0)], -1)
    else:
        # lay each leg's pieces side by side, leg column by leg column and piece by piece, all rows at once
        at = np.zeros(len(rows), dtype=np.int64)
        r_all = np.arange(len(rows))
        for c in range(rows.shape[1]):
            has = rows[:, c] >= 0
            for q in range(int(n_p[:, c].max(initial=0))):
                sel = has & (n_p[:, c] > q)
                r = r_all[sel]
                col[r, at[sel]] = c
                piece[r, at[sel]] = legs.piece_start[rows[sel, c]] + q
                at[sel] += 1
    has_piece = piece >= 0
    safe = np.maximum(piece, 0)
    op = np.where(has_piece, legs.piece_operator[safe], -1)
    km = np.where(has_piece, legs.piece_km[safe], 0.0)
    where = _where(legs, system, rows, piece, col, t_board) if system.located or system.timed else None
    fare = system.section_fares(op, km, np.asarray(medium), where)
    return col, op, km, fare


def _where(legs: LegPieces, system: FareSystem, rows: np.ndarray, piece: np.ndarray, col: np.ndarray,
           t_board: np.ndarray | None) -> PieceWhere:
    """The pieces' stations, zone bits and boarding times (see PieceWhere)."""
    has_piece = piece >= 0
    safe = np.maximum(piece, 0)
    zones = np.zeros(piece.shape, dtype=np.int64)
    for o, operator in enumerate(system.net.operators):
        if isinstance(operator.table, ZoneTable):
            bits = legs.zone_bits(o, operator.table.zone_of)
            zones = np.where(has_piece & (legs.piece_operator[safe] == o), bits[safe], zones)
    if t_board is None:
        t_board = expected_boardings(legs, rows)
    leg_col = np.maximum(col, 0)
    t_piece = np.take_along_axis(np.asarray(t_board, dtype=float), leg_col, axis=1)
    new_leg = has_piece & np.concatenate([np.ones((len(col), 1), bool), col[:, 1:] != col[:, :-1]], axis=1)
    return PieceWhere(legs.piece_board[safe], legs.piece_alight[safe], zones, t_piece, new_leg)
