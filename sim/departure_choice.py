"""Departure-time choice against schedule delay (see schema.DepartureTimeSpec; Small 1982).

Each commuter i has a drawn start t0_i and a route r_i; their preferred arrival time is t0_i plus
the route's expected travel time with no queue. They may leave at t0_i + k * bin_s for k = -K..K
(K = window_s // bin_s), inside the period (the trains run for it). Leaving at t, they expect the
travel time T(r_i, t) measured for their route in the global bin of t (bins of bin_s): each run's
mean of the bin, interpolated over bins nobody left in, averaged over the runs with weights halving
into the past; the expected time with no queue outside the bins used. Their cost is T +
early_weight * max(0, t* - (t + T)) + late_weight * max(0, t + T - t*), and the logit with scale
theta_per_min gives each their best response, with the same uniform number in every run. After run
n a commuter takes it with probability g / sqrt(n), g the share of their present cost it saves
(a proportional swap with shrinking steps): those far from their best move first, and the pattern
settles where a full response would swing back and forth.
"""

from __future__ import annotations

import numpy as np

from .choice import logit_pick
from .schema import DepartureTimeSpec

SWAP = 1.0
"""Probability of taking a best response that saves all of one's cost in the first run (then / sqrt(n))."""


class DepartureChooser:
    """The departure-time choice of a fixed population on fixed routes."""

    def __init__(self, spec: DepartureTimeSpec, t_drawn: np.ndarray, route_of: np.ndarray, free_time: np.ndarray,
                 period: tuple[float, float], rng: np.random.Generator) -> None:
        """`free_time`: each commuter's expected travel time with no queue (s) at their drawn start;
        `period`: its start and end (s): nobody leaves outside it (the trains run for it); `rng`: the
        stream of the choice's uniform numbers."""
        t_start = period[0]
        self.spec, self.t_drawn, self.period = spec, t_drawn, period
        self.u, self.rng = rng.random(len(t_drawn)), rng
        self.route_of = route_of.astype(np.int64)
        self.free_time = free_time
        self.preferred = t_drawn + free_time
        k = int(spec.window_s // spec.bin_s)
        self.shifts = spec.bin_s * np.arange(-k, k + 1)
        self.t_start = t_start - k * spec.bin_s  # bins reach back over the earliest shift
        self.n_bins = int(np.ceil((t_drawn.max(initial=t_start) + 2 * k * spec.bin_s - self.t_start) / spec.bin_s)) + 1
        self.n_routes = int(self.route_of.max(initial=-1)) + 1
        self.time = np.full((self.n_routes, self.n_bins), np.nan)
        """The last run's mean travel time (s) per route and departure bin, empty bins interpolated
        (NaN outside the bins its commuters used)."""
        self.runs = 0
        self.current = t_drawn.copy()
        """Every commuter's departure time (s) for the next run."""

    def bin_of(self, t: np.ndarray) -> np.ndarray:
        return np.clip(((t - self.t_start) // self.spec.bin_s).astype(np.int64), 0, self.n_bins - 1)

    def observe(self, t_depart: np.ndarray, travel_time: np.ndarray, t_end: float) -> None:
        """A run's travel times (s) of commuters leaving at t_depart; NaN for a trip that had not
        arrived by the run's end `t_end`, counted as lasting until then (at least). A bin nobody of
        a route left in, between two that were used, takes the time interpolated between them: the
        queue a departure then meets is between those the two meet."""
        self.runs += 1
        key = self.route_of * self.n_bins + self.bin_of(t_depart)
        time = np.where(np.isfinite(travel_time), travel_time, t_end - t_depart)
        sums = np.bincount(key, weights=time, minlength=self.time.size).reshape(self.time.shape)
        counts = np.bincount(key, minlength=self.time.size).reshape(self.time.shape)
        last = np.full_like(self.time, np.nan)
        bins = np.arange(self.n_bins)
        for r in np.flatnonzero(counts.sum(axis=1)):  # a loop over the routes in use (few)
            used = counts[r] > 0
            inside = (bins >= bins[used][0]) & (bins <= bins[used][-1])
            last[r, inside] = np.interp(bins[inside], bins[used], sums[r, used] / counts[r, used])
        # the runs' times averaged with weights halving into the past: a queue estimate that does not
        # swing with the last run alone
        self.time = np.where(np.isnan(self.time), last, np.where(np.isnan(last), self.time, (self.time + last) / 2))

    def choose(self) -> np.ndarray:
        """Every commuter's departure time for the next run (s): after run n, a share 1/n of the
        commuters (drawn anew each run) take their best response by the logit, the others keep
        their time (the method of successive averages on the departure pattern)."""
        t = self.t_drawn[:, None] + self.shifts[None, :]
        measured = self.time[self.route_of[:, None], self.bin_of(t)]
        travel = np.where(np.isnan(measured), self.free_time[:, None], measured)
        arrive = t + travel
        early = np.maximum(0.0, self.preferred[:, None] - arrive)
        late = np.maximum(0.0, arrive - self.preferred[:, None])
        cost = travel + self.spec.early_weight * early + self.spec.late_weight * late
        cost[(t < self.period[0]) | (t >= self.period[1])] = np.inf  # the drawn start is always inside
        pick = logit_pick(cost, self.u, self.spec.theta_per_min / 60.0)
        now = self.current
        k_now = np.clip(np.round((now - self.t_drawn) / self.spec.bin_s).astype(np.int64) + len(self.shifts) // 2, 0,
                        len(self.shifts) - 1)
        rows = np.arange(len(now))
        gain = (cost[rows, k_now] - cost[rows, pick]) / np.maximum(cost[rows, k_now], 1.0)
        moving = self.rng.random(len(now)) < np.clip(gain, 0.0, 1.0) * min(1.0, SWAP / np.sqrt(self.runs))
        self.current = np.where(moving, self.t_drawn + self.shifts[pick], now)
        return self.current

    def schedule_delay(self, t_depart: np.ndarray, travel_time: np.ndarray) -> dict:
        """KPIs of a run's choices: commuters who moved their start, mean shift (s), the shares arriving
        early, on time (within one bin) and late, mean schedule delay early and late (s), and the
        mean cost (s) of those who arrived."""
        arrive = t_depart + travel_time
        done = np.isfinite(arrive)
        gap = arrive[done] - self.preferred[done]
        early, late = np.maximum(0.0, -gap), np.maximum(0.0, gap)
        cost = travel_time[done] + self.spec.early_weight * early + self.spec.late_weight * late
        shift = t_depart - self.t_drawn
        n = max(1, int(done.sum()))
        return {"runs": self.runs, "moved": int((shift != 0).sum()), "shift_mean_s": float(np.mean(shift)) if len(shift) else 0.0,
                "early_share": float((gap < -self.spec.bin_s).sum()) / n,
                "on_time_share": float((np.abs(gap) <= self.spec.bin_s).sum()) / n,
                "late_share": float((gap > self.spec.bin_s).sum()) / n,
                "early_mean_s": float(early.mean()) if done.any() else None,
                "late_mean_s": float(late.mean()) if done.any() else None,
                "cost_mean_s": float(cost.mean()) if done.any() else None}
