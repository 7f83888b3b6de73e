"""Fares and fare media of a feed, as far as our per-operator tariffs can express them.

Fares v1 (fare_attributes.txt and fare_rules.txt): an agency whose fares name zones (origin_id,
destination_id, contains_id, with the stops' zone_id) gets a `zones` tariff with one fare class per
fare_id; otherwise a flat fare (a `distance_bands` tariff of one band) when all its fares have one
price. transfer_duration becomes the tariff's transfer window and transfers its number of changes,
currency_type its currency. Fares v2 (fare_leg_rules.txt and fare_products.txt, preferred when
present, with per-medium prices as `media_factor`): leg rules by area (stop_areas.txt) give a `zones`
tariff with one class per rule, otherwise a flat fare when they have one price; a free transfer rule
gives the transfer window and number of changes. Fares by route (v1) or by time of day (v2) cannot be
expressed: the operator gets the lowest of its prices, flat, and the notes say so. GTFS has no distance fares, so no distance tariff
ever comes from a feed.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from . import defaults
from .feed import Feed, parse_numbers
from .ids import IdMap
from .trips import Agency, Route


def fare_media(feed: Feed) -> dict[str, dict]:
    """fare_media.txt as our media (paper tickets are bought before each ride), or the default medium."""
    fm = feed.optional("fare_media.txt", ("fare_media_id", "fare_media_type"), ("fare_media_name",))
    if fm is None:
        return {defaults.MEDIUM_ID: dict(defaults.MEDIUM)}
    return {mid: {"name": name or mid, "needs_ticket": kind == "1"}
            for mid, name, kind in zip(fm["fare_media_id"], fm["fare_media_name"], fm["fare_media_type"])}


def station_zones(feed: Feed, station_of: dict[str, str], ids: dict[str, str]) -> dict[str, str]:
    """Output station id -> its fare zone for the stations in `ids` (feed station -> output id;
    `station_of`: stop_id -> feed station): with Fares v2, the area_id of stop_areas.txt; else the
    zone_id of stops.txt (the most frequent among a station's stops where they differ)."""
    if _is_v2(feed):
        sa = feed.optional("stop_areas.txt", ("area_id", "stop_id"))
        pairs = zip(sa["stop_id"], sa["area_id"]) if sa is not None else iter(())
    else:
        stops = feed.tables.get("stops.txt")
        pairs = zip(stops["stop_id"], stops["zone_id"]) if stops is not None and "zone_id" in stops.columns else iter(())
    seen: dict[str, Counter] = {}
    for stop, zone in pairs:
        st = station_of.get(stop)
        if zone and st in ids:
            seen.setdefault(ids[st], Counter())[zone] += 1
    return {sid: count.most_common(1)[0][0] for sid, count in sorted(seen.items())}


def _is_v2(feed: Feed) -> bool:
    return feed.has("fare_leg_rules.txt") and feed.has("fare_products.txt")


def operator_fares(feed: Feed, agencies: dict[str, Agency], routes: dict[str, Route], media: dict[str, dict],
                   zones: dict[str, str], served: dict[str, set[str]], notes: list[str]) -> dict[str, dict]:
    """Each agency's fare (a FareSpec as data) and, in `notes`, what could not be expressed. `zones`:
    output station id -> zone_id (station_zones); `served`: agency -> the output ids of its stations."""
    v2 = _is_v2(feed)
    prices = _v2_prices(feed, routes, media) if v2 else _v1_prices(feed, agencies, routes)
    out = {}
    currency = None
    for key, agency in agencies.items():
        found, problem, cur, factors = prices.get(key, ([], None, "CNY", {}))
        if not found:
            notes.append(f"{agency.name}: no fare in the feed; ASSUMPTION: free (0)")
            out[key] = {"kind": "distance_bands", "base_cny": 0}
            continue
        mine = {sid: zones[sid] for sid in sorted(served.get(key, set())) if sid in zones}
        zone_ids = IdMap()
        ours = {z: zone_ids.take(z) for z in sorted(set(mine.values()))}
        mine = {sid: ours[z] for sid, z in mine.items()}
        classes = ((_area_classes(feed, key, routes, ours) if v2 else _zone_classes(feed, key, agencies, ours))
                   if problem == ZONED else None)
        unzoned = sorted(served.get(key, set()) - set(mine))
        if classes is not None and unzoned:
            notes.append(f"{agency.name}: {len(unzoned)} stations have no zone_id ({', '.join(unzoned[:3])}"
                         f"{' ...' if len(unzoned) > 3 else ''})")
        if classes is not None and not unzoned:
            out[key] = {"kind": "zones", "zone_of": mine, "zone_fares": classes}
        else:
            lowest = min(found)
            if problem or len(set(found)) > 1:
                why = problem or f"prices differ between its routes ({', '.join(f'{p:g}' for p in sorted(set(found)))})"
                notes.append(f"{agency.name}: fares cannot be expressed ({why}); ASSUMPTION: a flat {lowest:g} {cur}, "
                             "its lowest price")
            out[key] = {"kind": "distance_bands", "base_cny": lowest}
        if factors:
            out[key]["media_factor"] = factors
        out[key].update(_v2_transfers(feed, agency, notes) if v2 else _transfers(feed, key, agencies, notes))
        currency = currency or cur
        if cur != currency:
            notes.append(f"{agency.name}: prices in {cur} taken as {currency} amounts (a network charges in one "
                         "currency)")
        out[key]["currency"] = currency
    return out


ZONED = "fares by zone (fare_rules origin_id, destination_id or contains_id; Fares v2 areas)"


def _v1_classes(feed: Feed, key: str, agencies: dict[str, Agency]) -> pd.DataFrame:
    """fare_attributes.txt rows of agency `key` (all rows when the feed has one agency), with a
    numeric price."""
    fa = feed.table("fare_attributes.txt", ("fare_id", "price", "currency_type"),
                    ("agency_id", "transfers", "transfer_duration"))
    mine = fa[(fa["agency_id"] == key) | (fa["agency_id"] == "")] if len(agencies) > 1 else fa
    return mine.assign(price=parse_numbers(feed, "fare_attributes.txt", "price", mine["price"], minimum=0))


def _zone_classes(feed: Feed, key: str, agencies: dict[str, Agency], zones: dict[str, str]) -> list[dict] | None:
    """The agency's fares as zone fare classes (see schema.ZoneFare; `zones`: the feed's zone_id ->
    ours), or None when none applies to the network's zones. A pair of zones or a class for zones
    outside the network never applies and is left out."""
    fr = feed.table("fare_rules.txt", ("fare_id",), ("route_id", "origin_id", "destination_id", "contains_id"))
    fare_ids = IdMap()
    out = []
    for fid, price in zip(*(_v1_classes(feed, key, agencies)[c] for c in ("fare_id", "price"))):
        rules = fr[fr["fare_id"] == fid]
        given = {(o or None, d or None) for o, d in zip(rules["origin_id"], rules["destination_id"]) if o or d}
        od = sorted({(zones.get(o) if o else None, zones.get(d) if d else None) for o, d in given
                     if (not o or o in zones) and (not d or d in zones)}, key=str)
        contains = {c for c in rules["contains_id"] if c}
        if (given and not od) or not contains <= set(zones):
            continue
        out.append({"id": fare_ids.take(fid), "price": float(price), **({"od": [list(p) for p in od]} if od else {}),
                    **({"contains": sorted(zones[c] for c in contains)} if contains else {})})
    return out or None


def _transfers(feed: Feed, key: str, agencies: dict[str, Agency], notes: list[str]) -> dict:
    """transfer_window_s and max_transfers from the agency's fare_attributes (the shortest window and
    fewest changes where its fares differ, said in the notes)."""
    if not feed.has("fare_attributes.txt"):
        return {}
    fa = _v1_classes(feed, key, agencies)
    out: dict = {}
    durations = {float(d) for d in fa["transfer_duration"] if d}
    if durations and all(d for d in fa["transfer_duration"]):
        out["transfer_window_s"] = min(durations)
    counts = {int(t) for t in fa["transfers"] if t}
    if counts and all(t for t in fa["transfers"]):
        out["max_transfers"] = min(counts)
    if len(durations) > 1 or len(counts) > 1:
        notes.append(f"{agencies[key].name}: fares allow different transfers; ASSUMPTION: the fewest changes "
                     "and the shortest window of any")
    return out


def _v1_prices(feed: Feed, agencies: dict[str, Agency], routes: dict[str, Route]) -> dict:
    """agency -> (prices, why they cannot be expressed flat or None, currency, {}) from Fares v1:
    ZONED when its fares name zones (and none is bound to routes)."""
    fa = feed.optional("fare_attributes.txt", ("fare_id", "price", "currency_type"), ("agency_id",))
    if fa is None:
        return {}
    price = parse_numbers(feed, "fare_attributes.txt", "price", fa["price"], minimum=0)
    fr = feed.optional("fare_rules.txt", ("fare_id",), ("route_id", "origin_id", "destination_id", "contains_id"))
    zoned: set[str] = set()
    on_routes: dict[str, set[str]] = {}
    if fr is not None:
        feed.check_known("fare_rules.txt", "fare_id", fr["fare_id"], set(fa["fare_id"]), "fare")
        for fid, rid, o, d, c in zip(fr["fare_id"], fr["route_id"], fr["origin_id"], fr["destination_id"],
                                     fr["contains_id"]):
            if o or d or c:
                zoned.add(fid)
            if rid:
                on_routes.setdefault(fid, set()).add(rid)
    found: dict[str, list[float]] = {}
    kinds: dict[str, set[str]] = {}
    currency: dict[str, str] = {}
    only = next(iter(agencies)) if len(agencies) == 1 else None
    for fid, aid, p, cur in zip(fa["fare_id"], fa["agency_id"], price, fa["currency_type"]):
        owners: set[str | None] = {routes[r].agency for r in on_routes.get(fid, ()) if r in routes} or {aid or only}
        for key in owners & set(agencies):
            assert key is not None  # a key of `agencies`
            found.setdefault(key, []).append(float(p))
            kinds.setdefault(key, set()).update({"zones"} if fid in zoned else set(), {"routes"} if fid in on_routes else set())
            currency.setdefault(key, cur)
    out: dict[str, tuple] = {}
    for key, prices in found.items():
        why = ("fares by zone and route" if kinds[key] == {"zones", "routes"} else ZONED if "zones" in kinds[key]
               else None)
        out[key] = (prices, why, currency[key], {})
    return out


def _v2_products(feed: Feed) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """fare_product_id -> {fare_media_id: amount} for the default rider, and each product's currency."""
    products = feed.table("fare_products.txt", ("fare_product_id", "amount", "currency"),
                          ("fare_media_id", "rider_category_id"))
    amount = parse_numbers(feed, "fare_products.txt", "amount", products["amount"])
    default_riders = {""}
    cats = feed.optional("rider_categories.txt", ("rider_category_id",), ("is_default_fare_category",))
    if cats is not None:
        default_riders |= set(cats["rider_category_id"][cats["is_default_fare_category"] == "1"])
    by_product: dict[str, dict[str, float]] = {}
    currency: dict[str, str] = {}
    for pid, mid, cat, a, cur in zip(products["fare_product_id"], products["fare_media_id"],
                                     products["rider_category_id"], amount, products["currency"]):
        if cat in default_riders:
            by_product.setdefault(pid, {})[mid] = float(a)
            currency[pid] = cur
    return by_product, currency


def _base_price(amounts: dict[str, float]) -> float:
    """A product's price: its most common amount over media."""
    return Counter(amounts.values()).most_common(1)[0][0]


def _v2_prices(feed: Feed, routes: dict[str, Route], media: dict[str, dict]) -> dict:
    """agency -> (prices, why they cannot be expressed or None, currency, media factors) from Fares v2:
    the products of the leg rules that apply to its routes' networks (for the default rider)."""
    rules = _v2_leg_rules(feed)
    by_product, currency = _v2_products(feed)
    feed.check_known("fare_leg_rules.txt", "fare_product_id", rules["fare_product_id"], set(by_product), "fare product")
    network_of = _route_networks(feed)
    out: dict[str, tuple] = {}
    for r in routes.values():
        net = network_of.get(r.id, "")
        mine = rules[(rules["network_id"] == "") | (rules["network_id"] == net)]
        if mine.empty:
            continue
        timed = (mine[["from_timeframe_group_id", "to_timeframe_group_id"]] != "").to_numpy().any()
        by_area = (mine[["from_area_id", "to_area_id"]] != "").to_numpy().any()
        problem = "fares by time of day" if timed else ZONED if by_area else None
        found, old_problem, cur, factors = out.get(r.agency, ([], None, "CNY", {}))
        for pid in mine["fare_product_id"]:
            amounts = by_product[pid]
            base = _base_price(amounts)
            found = found + [base]
            cur = currency[pid]
            factors = {**factors, **{m: round(a / base, 4) for m, a in amounts.items()
                                     if m in media and base > 0 and not np.isclose(a, base)}}
        worst = max((old_problem, problem), key=lambda x: 0 if x is None else 1 if x == ZONED else 2)
        out[r.agency] = (found, worst, cur, factors)
    return out


def _v2_leg_rules(feed: Feed) -> pd.DataFrame:
    return feed.table("fare_leg_rules.txt", ("fare_product_id",),
                      ("leg_group_id", "network_id", "from_area_id", "to_area_id", "from_timeframe_group_id",
                       "to_timeframe_group_id"))


def _area_classes(feed: Feed, key: str, routes: dict[str, Route], areas: dict[str, str]) -> list[dict] | None:
    """The leg rules of the agency's routes' networks as zone fare classes (`areas`: the feed's
    area_id -> our zone id; the default medium's price), or None when none applies to the network's
    areas. A rule for an area outside the network never applies and is left out."""
    rules = _v2_leg_rules(feed)
    networks = {_route_networks(feed).get(r.id, "") for r in routes.values() if r.agency == key}
    prices = {pid: _base_price(amounts) for pid, amounts in _v2_products(feed)[0].items()}
    ids = IdMap()
    out = []
    for group, net, frm, to, pid in zip(rules["leg_group_id"], rules["network_id"], rules["from_area_id"],
                                        rules["to_area_id"], rules["fare_product_id"]):
        if (net and net not in networks) or (frm and frm not in areas) or (to and to not in areas):
            continue
        pair = [areas[frm] if frm else None, areas[to] if to else None]
        out.append({"id": ids.take(group or pid), "price": prices[pid], **({"od": [pair]} if frm or to else {})})
    return out or None


def _v2_transfers(feed: Feed, agency: Agency, notes: list[str]) -> dict:
    """The change rules of Fares v2: a free transfer rule (fare_transfer_type 0 without a product, or
    one of amount 0) gives the transfer window (duration_limit) and number of changes
    (transfer_count; -1 any); fare_leg_join_rules.txt lets legs join without a limit; with neither,
    each train ride is a fare leg of its own (max_transfers 0)."""
    tr = feed.optional("fare_transfer_rules.txt", ("fare_transfer_type",),
                       ("transfer_count", "duration_limit", "duration_limit_type", "fare_product_id"))
    if tr is not None:
        prices = {pid: _base_price(amounts) for pid, amounts in _v2_products(feed)[0].items()}
        free = tr[(tr["fare_transfer_type"] == "0")
                  & tr["fare_product_id"].map(lambda p: not p or prices.get(p, 1.0) == 0.0)]
        if len(free):
            rule = free.iloc[0]
            out: dict = {}
            if rule["duration_limit"]:
                out["transfer_window_s"] = float(rule["duration_limit"])
            if rule["transfer_count"] and int(rule["transfer_count"]) >= 0:
                out["max_transfers"] = int(rule["transfer_count"])
            if len(free) > 1 or len(free) < len(tr) or rule["duration_limit_type"] not in ("", "1"):
                notes.append(f"{agency.name}: Fares v2 transfer rules taken as one: changes free within "
                             f"{rule['duration_limit'] or 'any time'} s of the first boarding; others not expressed")
            return out
    if feed.has("fare_leg_join_rules.txt"):
        return {}
    notes.append(f"{agency.name}: Fares v2 without transfer or leg join rules: every train ride pays its own fare")
    return {"max_transfers": 0}


def _route_networks(feed: Feed) -> dict[str, str]:
    """route_id -> network_id (routes.txt network_id, or route_networks.txt)."""
    rn = feed.optional("route_networks.txt", ("network_id", "route_id"))
    if rn is not None:
        return dict(zip(rn["route_id"], rn["network_id"]))
    rt = feed.tables["routes.txt"]
    return dict(zip(rt["route_id"], rt["network_id"])) if "network_id" in rt.columns else {}
