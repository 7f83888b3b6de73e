"""The facilities of a plan as a graph (edges: consecutive steps of a template), and the order in
which the bulk engine serves them: which are static (every arrival known before the clock starts)
and which must be brought up to date before a train leaves each platform."""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..network import FACILITY
from ..plan import STEP_FACILITY, STEP_RIDE, Plan
from .itinerary import OnTheWay


def facility_edges(plan: Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Consecutive steps of a template as (facility, facility) and (facility, platform) pairs, and
    the facilities that follow a ride."""
    kind, target = plan.step_kind, plan.step_target
    same_template = np.ones(len(kind) - 1, dtype=bool) if len(kind) else np.zeros(0, dtype=bool)
    same_template[plan.template_start[1:-1] - 1] = False
    a_kind, b_kind = kind[:-1], kind[1:]
    a, b = target[:-1], target[1:]

    n = int(target.max(initial=0)) + 1

    def pairs(mask: np.ndarray) -> np.ndarray:
        # the distinct rows (a, b) in order, as distinct codes a * n + b (np.unique by rows sorts far slower)
        code = np.unique(a[mask].astype(np.int64) * n + b[mask])
        return np.stack([code // n, code % n], axis=1)

    ff = pairs(same_template & (a_kind == STEP_FACILITY) & (b_kind == STEP_FACILITY))
    fp = pairs(same_template & (a_kind == STEP_FACILITY) & (b_kind == STEP_RIDE))
    after_ride = np.unique(b[same_template & (a_kind == STEP_RIDE) & (b_kind == STEP_FACILITY)])
    return ff, fp, after_ride


def facility_order(plan: Plan, also_dynamic: frozenset[int] = frozenset()) -> tuple[list[int], list[int], list[list[int]]]:
    """Facilities in topological order (edges: consecutive steps of a template); those that only
    commuters coming from the street reach (static: every arrival is known before the clock
    starts), in that order; and per platform, the other facilities that can feed it (dynamic: fed,
    directly or through other facilities, by commuters leaving a train, or `also_dynamic`). A cycle
    of facilities is a user error."""
    n_f = plan.n_facilities
    ff, fp, after_ride = facility_edges(plan)
    pred, succ_f = facility_links(ff, n_f)
    indeg = [len(pred[f]) for f in range(n_f)]
    order = [f for f in range(n_f) if indeg[f] == 0]
    for f in order:
        for g in sorted(succ_f[f]):
            indeg[g] -= 1
            if indeg[g] == 0:
                order.append(g)
    if len(order) != n_f:
        raise UserError.single("", "network", "station paths pass facilities in a cycle "
                                              "(a facility is reached again without riding a train)")
    dynamic = reach(set(after_ride.tolist()) | set(also_dynamic), succ_f)
    upstream = platform_feeders(plan.n_platforms, fp, pred, dynamic, {f: i for i, f in enumerate(order)})
    static = [f for f in order if f not in dynamic]
    return order, static, upstream


def facility_links(ff: np.ndarray, n_facilities: int) -> tuple[list[set[int]], list[set[int]]]:
    """Per facility, the facilities just before it and just after it, from (facility, facility) pairs."""
    pred: list[set[int]] = [set() for _ in range(n_facilities)]
    succ: list[set[int]] = [set() for _ in range(n_facilities)]
    for x, y in ff.tolist():
        pred[y].add(x)
        succ[x].add(y)
    return pred, succ


def reach(start: set[int], edges: list[set[int]], within: set[int] | None = None) -> set[int]:
    """`start` and every facility reached from it along `edges` (pred or succ), through facilities
    of `within` alone (any when None)."""
    seen, stack = set(start), list(start)
    while stack:
        for g in edges[stack.pop()]:
            if g not in seen and (within is None or g in within):
                seen.add(g)
                stack.append(g)
    return seen


def platform_feeders(n_platforms: int, fp: np.ndarray, pred: list[set[int]], within: set[int],
                     rank: dict[int, int]) -> list[list[int]]:
    """Per platform: the facilities of `within` that feed it, directly or through others of
    `within`, in `rank` order (`fp`: (facility, platform) pairs of consecutive steps)."""
    direct: list[set[int]] = [set() for _ in range(n_platforms)]
    for f, platform in fp.tolist():
        if f in within:
            direct[platform].add(f)
    return [sorted(reach(feeds, pred, within), key=rank.__getitem__) for feeds in direct]


def station_groups(network) -> list[int]:
    """A group number per station: stations joined by interchanges, directly or through others, share one."""
    group = list(range(len(network.stations)))

    def root(x: int) -> int:
        while group[x] != x:
            group[x] = group[group[x]]
            x = group[x]
        return x

    for a, b in sorted(network.transfers):
        group[root(a)] = root(b)
    return [root(s) for s in range(len(group))]


def on_the_way_order(plan: Plan, way: OnTheWay,
                     also_dynamic: frozenset[int] = frozenset()) -> tuple[list[int], list[int], list[list[int]]]:
    """facility_order with choices on the way: riders stranded on one platform may walk to another
    of the same station or of a station its interchanges join. Facilities on change paths (and after
    them) are never served in advance, and every facility that can bring riders to a platform of a
    group of stations so joined (through a change path, or to a platform where riders may choose
    again) is brought up to date before a train leaves any platform of the group."""
    net = way.network
    on_paths = frozenset(int(st.value) for paths in net.transfers.values() for path in paths
                         for st in path.steps if st.kind == FACILITY)
    order, static, upstream = facility_order(plan, on_paths | also_dynamic)
    group = station_groups(net)
    fac_station = [f.station for f in net.facilities]
    feeds: dict[int, set[int]] = {}
    for q, pl in enumerate(net.platforms):
        feeds.setdefault(group[pl.station], set()).update(upstream[q])
    for f in on_paths:
        feeds.setdefault(group[fac_station[f]], set()).add(f)
    rank = {f: i for i, f in enumerate(order)}
    return order, static, [sorted(feeds.get(group[pl.station], set()), key=rank.__getitem__) for pl in net.platforms]
