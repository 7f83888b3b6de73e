"""Fares: each operator's distance tariff, fare integration between operators, and revenue clearing.

A trip's legs form sections: consecutive legs on one operator, charged together by that operator's
tariff on their total km. Where a fare rule joins operators (network `fare_integration`), a run of
two or more consecutive sections on operators of the rule is charged by the rule (a through fare
or a transfer discount) and the fare is shared out between the sections by the rule's clearing
key. Every fare is attributed to the first leg of its section, so revenue per operator is the sum
of leg fares and always adds up to the fares paid.

A through leg (a train running onto another operator's track) is cut into pieces, one per operator
section of its track: `piece_fares` and `leg_fares` price lists of legs (routes) by their pieces.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

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


class FareSystem:
    """The fares of a network for media `media` (indices into this tuple are medium codes)."""

    def __init__(self, network: Network, media: tuple[str, ...]) -> None:
        self.net = network
        self.media = media

    def effective_medium(self, medium: str, operator: int) -> str:
        """The medium actually used on an operator (its fallback if it does not accept `medium`)."""
        op = self.net.operators[operator]
        if op.accepts is None or medium in op.accepts:
            return medium
        return op.fallback_medium or medium

    def section_fares(self, op: np.ndarray, km: np.ndarray, medium: np.ndarray) -> np.ndarray:
        """Fare (CNY) attributed to each leg of each row: `op` and `km` per leg (op -1 for
        padding), `medium` a code per row. See the module docstring."""
        n, width = op.shape
        valid = op >= 0
        start = valid & np.concatenate([np.ones((n, 1), bool), op[:, 1:] != op[:, :-1]], axis=1)
        section = np.cumsum(start, axis=1) - 1
        rows = np.arange(n)
        # per section (columns 0 .. n_sections-1): operator, km, stand-alone fare
        sec_op = np.full((n, width), -1, dtype=np.int64)
        sec_km = np.zeros((n, width))
        for j in range(width):
            sec_km[rows[valid[:, j]], section[valid[:, j], j]] += km[valid[:, j], j]
            sec_op[rows[start[:, j]], section[start[:, j], j]] = op[start[:, j], j]
        sec_fare = np.zeros((n, width))
        for o, operator in enumerate(self.net.operators):
            for m, name in enumerate(self.media):
                mask = (sec_op == o) & (medium[:, None] == m)
                if mask.any():
                    sec_fare[mask] = operator_fares(operator.fare, sec_km[mask], self.effective_medium(name, o))
        for rule in self.net.fare_rules:
            if rule.policy != "separate":
                self._integrate(rule, sec_op, sec_km, sec_fare, medium)
        out = np.zeros((n, width))
        out[start] = sec_fare[rows[:, None].repeat(width, 1)[start], section[start]]
        return out

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


def leg_fares(legs: LegPieces, system: FareSystem, rows: np.ndarray, medium: np.ndarray) -> np.ndarray:
    """Fare (CNY) attributed to each leg of each row of `rows` (leg indices, -1 padded) paid with
    medium code `medium` (per row): see FareSystem; a through leg's operator sections are charged as
    the policy says and added up."""
    col, op, _, fare = piece_fares(legs, system, rows, medium)
    out = np.zeros(rows.shape)
    at_row = np.repeat(np.arange(rows.shape[0]), op.shape[1])
    ok = (op >= 0).ravel()
    # sum the pieces into their legs; the loop would be: out[r, col[r, q]] += fare[r, q] for every piece q of row r
    np.add.at(out, (at_row[ok], col.ravel()[ok]), fare.ravel()[ok])
    return out


def piece_fares(legs: LegPieces, system: FareSystem, rows: np.ndarray,
                medium: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row of `rows` (leg indices, -1 padded), its track pieces (one per operator section of each
    leg, in order) as matrices padded with -1 / 0: the leg column of each piece, its operator, km
    and the fare (CNY) attributed to it (FareSystem on the pieces, medium code `medium` per row)."""
    rows = np.asarray(rows)
    n_p = np.where(rows >= 0, legs.n_pieces[np.maximum(rows, 0)], 0)
    width = max(1, int(n_p.sum(axis=1).max(initial=1)))
    col = np.full((len(rows), width), -1, dtype=np.int64)
    op = np.full((len(rows), width), -1, dtype=np.int64)
    km = np.zeros((len(rows), width))
    if (legs.n_pieces == 1).all():  # no through leg: one piece per leg
        valid = rows >= 0
        col[:, :rows.shape[1]] = np.where(valid, np.arange(rows.shape[1]), -1)
        op[:, :rows.shape[1]] = np.where(valid, legs.operator[np.maximum(rows, 0)], -1)
        km[:, :rows.shape[1]] = np.where(valid, legs.piece_km[legs.piece_start[np.maximum(rows, 0)]], 0.0)
    else:
        # lay each leg's pieces side by side, leg column by leg column and piece by piece, all rows at once
        at = np.zeros(len(rows), dtype=np.int64)
        r_all = np.arange(len(rows))
        for c in range(rows.shape[1]):
            has = rows[:, c] >= 0
            for q in range(int(n_p[:, c].max(initial=0))):
                sel = has & (n_p[:, c] > q)
                r, piece = r_all[sel], legs.piece_start[rows[sel, c]] + q
                col[r, at[sel]] = c
                op[r, at[sel]] = legs.piece_operator[piece]
                km[r, at[sel]] = legs.piece_km[piece]
                at[sel] += 1
    fare = system.section_fares(op, km, np.asarray(medium))
    return col, op, km, fare
