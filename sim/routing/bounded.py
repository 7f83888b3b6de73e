"""The compiled core of the candidate search (search.CandidateSearch.within_band): every
sequence of legs from a set of start states to one destination whose search cost stays within each
origin's band, by depth-first enumeration. Arrays only: the search's rules are spelled out below,
its data (legs, changes, bounds) come from the caller."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _may_follow(prev: int, k: int, line: np.ndarray, up: np.ndarray, through: np.ndarray, board: np.ndarray,
                alight: np.ndarray, last_hop: np.ndarray, first_hop: np.ndarray, platform: np.ndarray,
                leg_at: np.ndarray, n_stations: int) -> bool:
    """Whether leg k may follow leg prev: not the same line and direction again where common lines
    already cover it (a train from prev's platform to k's station) unless k is a through train onto
    another line, and not back along the track just ridden (only a change of branch at a junction
    may reverse direction on the same line). A change on the same line and direction is a way
    where no train runs straight through (a station some trains serve to one others serve).
    `leg_at`: the leg from each platform to each station [platform * n_stations + station], -1 none."""
    same_line = line[prev] == line[k] and not through[k]
    same_dir = up[prev] == up[k]
    retrace = alight[prev] == board[k] and last_hop[prev] == first_hop[k]
    covered = leg_at[platform[prev] * n_stations + alight[k]] >= 0
    return (not same_line) or (not same_dir and not retrace) or (same_dir and not covered)


@numba.njit(cache=True, nogil=True)
def _range(sorted_keys: np.ndarray, key: int) -> tuple[int, int]:
    """The positions [lo, hi) of `key` in ascending `sorted_keys`."""
    return int(np.searchsorted(sorted_keys, key, side="left")), int(np.searchsorted(sorted_keys, key, side="right"))


@numba.njit(cache=True, nogil=True)
def bounded_routes(origins, start_org, start_sta, start_g, bound, h_alighted, h_boarding, dest, max_legs,
                   board, alight, line, up, through, last_hop, first_hop, platform, leg_at, n_stations,
                   search_cost, final_legs, final_board, final_tail, tp_legs, tp_board, tr_from, tr_to, tr_cost):
    """Every leg sequence to `dest` from each start state (start_org: its origin's row in
    `origins`, start_sta: its station, start_g: its cost so far, s) whose search cost (s) stays
    within bound[origin row]: (origin row, cost, legs padded with -1 to max_legs) per sequence, in
    no particular order.

    The rules (those of candidates_many): each level first finishes by a leg in `final_legs` (into
    dest or a station with a street walk to it; final_tail: the walk's cost after it), then rides a
    leg in `tp_legs` (to a transfer point) and changes trains (tr_from -> tr_to at tr_cost). A ride
    on goes only where its cost plus h_alighted at its station stays within the bound, a change only
    where its cost plus h_boarding there does; it never alights at dest or at a station visited
    before, and never changes to a station visited before (but its own). A leg after another obeys
    _may_follow. The three leg lists are sorted by boarding station (final_board, tp_board), the
    changes by tr_from. Float operations are those of the level-by-level search, in its order."""
    # compiled: a depth-first walk per start state; the level-by-level array search it replaces spent
    # its time in numpy calls on small arrays, destination by destination
    cap = 1024
    out_org = np.empty(cap, dtype=np.int64)
    out_cost = np.empty(cap)
    out_legs = np.full((cap, max_legs), -1, dtype=np.int64)
    n_out = 0
    chosen = np.full(max_legs, -1, dtype=np.int64)
    visited = np.full(2 * max_legs + 2, -1, dtype=np.int64)
    sta = np.empty(max_legs, dtype=np.int64)
    g = np.empty(max_legs)
    # per level: the ride to a transfer point being tried (cursor into tp_legs, end) and, once it is
    # taken, the change being tried (cursor into the changes, end) and the cost after the ride
    ride_at = np.empty(max_legs, dtype=np.int64)
    ride_end = np.empty(max_legs, dtype=np.int64)
    change_at = np.empty(max_legs, dtype=np.int64)
    change_end = np.empty(max_legs, dtype=np.int64)
    g_ride = np.empty(max_legs)
    for s in range(len(start_org)):
        o = start_org[s]
        limit = bound[o]
        visited[0], visited[1] = origins[o], start_sta[s]
        sta[0], g[0] = start_sta[s], start_g[s]
        level = 0
        entering = True  # first time at this level with this state: finish here, then set up the rides
        while level >= 0:
            if entering:
                entering = False
                lo, hi = _range(final_board, sta[level])
                for j in range(lo, hi):
                    k = final_legs[j]
                    cost = g[level] + search_cost[k] + final_tail[j]
                    if not cost <= limit:
                        continue
                    if level > 0 and not _may_follow(chosen[level - 1], k, line, up, through, board, alight, last_hop,
                                                     first_hop, platform, leg_at, n_stations):
                        continue
                    if n_out == cap:
                        cap *= 2
                        out_org = np.concatenate((out_org, np.empty(cap - n_out, dtype=np.int64)))
                        out_cost = np.concatenate((out_cost, np.empty(cap - n_out)))
                        grown = np.full((cap, max_legs), -1, dtype=np.int64)
                        grown[:n_out] = out_legs[:n_out]
                        out_legs = grown
                    out_org[n_out], out_cost[n_out] = o, cost
                    for c in range(level):
                        out_legs[n_out, c] = chosen[c]
                    out_legs[n_out, level] = k
                    n_out += 1
                if level + 1 >= max_legs:
                    level -= 1
                    continue
                ride_at[level], ride_end[level] = _range(tp_board, sta[level])
                change_at[level] = change_end[level] = 0
            # the next change after the ride taken at this level, else the next ride
            if change_at[level] < change_end[level]:
                t = change_at[level]
                change_at[level] += 1
                a, b = visited[2 + 2 * level], tr_to[t]
                g2 = g_ride[level] + tr_cost[t]
                if not g2 + h_boarding[b] <= limit:
                    continue
                if b != a and _seen(visited, 3 + 2 * level, b):
                    continue
                visited[3 + 2 * level] = b
                sta[level + 1], g[level + 1] = b, g2
                level += 1
                entering = True
                continue
            if ride_at[level] >= ride_end[level]:
                level -= 1
                continue
            k = tp_legs[ride_at[level]]
            ride_at[level] += 1
            a = alight[k]
            g2 = g[level] + search_cost[k]
            if not g2 + h_alighted[a] <= limit:
                continue
            if a == dest or _seen(visited, 2 + 2 * level, a):
                continue
            if level > 0 and not _may_follow(chosen[level - 1], k, line, up, through, board, alight, last_hop,
                                             first_hop, platform, leg_at, n_stations):
                continue
            chosen[level] = k
            visited[2 + 2 * level] = a
            g_ride[level] = g2
            change_at[level], change_end[level] = _range(tr_from, a)
    return out_org[:n_out], out_cost[:n_out], out_legs[:n_out]


@numba.njit(cache=True, nogil=True)
def _seen(visited: np.ndarray, filled: int, station: int) -> bool:
    """Whether `station` is among the first `filled` stations visited."""
    for c in range(filled):
        if visited[c] == station:
            return True
    return False
