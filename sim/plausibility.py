"""Plausibility checks on a prepared run: warnings a modeller should read before trusting results."""

from __future__ import annotations

import numpy as np

from .network import Network
from .plan import Plan

HOUR_S = 3600.0


def facility_load_warnings(plan: Plan, network: Network, threshold: float = 0.95) -> list[str]:
    """Facilities whose planned busiest-hour utilisation reaches `threshold`.

    Utilisation = (visits in the busiest hour / 3600 s) x mean service time / servers, counting each
    visit at its commuter's departure hour (an approximation for facilities passed later in a
    trip). At 1 or more the queue grows for as long as that demand lasts.
    """
    if plan.n_commuters == 0 or len(plan.slot_facility) == 0:
        return []
    owner = np.repeat(np.arange(plan.n_commuters), np.diff(plan.fac_offset))
    hour = ((plan.t_depart[owner] - plan.t_depart.min()) // HOUR_S).astype(np.int64)
    n_hours = int(hour.max()) + 1
    counts = np.bincount(plan.slot_facility.astype(np.int64) * n_hours + hour,
                         minlength=plan.n_facilities * n_hours).reshape(plan.n_facilities, n_hours)
    peak = counts.max(axis=1)
    out = []
    for f in np.flatnonzero(peak):
        fac = network.facilities[f]
        rho = peak[f] / HOUR_S * fac.service.mean / fac.servers
        if rho >= threshold:
            out.append(f"facility {fac.id}: busiest-hour utilisation {rho:.2f} ({peak[f]:,} visits/h, "
                       f"{fac.servers} servers, mean service {fac.service.mean:g} s)"
                       + ("; its queue grows without bound while that demand lasts" if rho >= 1 else ""))
    return out
