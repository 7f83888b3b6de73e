"""Fares and fare media of a feed, as far as our per-operator tariffs can express them.

Our operators charge one tariff by distance. A feed's fares become an operator's flat fare (a
`distance_bands` tariff of one band) when all its fares for that agency have one price: GTFS-Fares
v2 (fare_leg_rules.txt and fare_products.txt, preferred when present, with per-medium prices as
`media_factor`) or v1 (fare_attributes.txt and fare_rules.txt). Fares by zone or area, by time, or
differing between routes cannot be expressed: the operator gets the lowest of its prices, flat, and
the notes say so. GTFS has no distance fares, so no distance tariff ever comes from a feed.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from . import defaults
from .feed import Feed, parse_numbers
from .trips import Agency, Route


def fare_media(feed: Feed) -> dict[str, dict]:
    """fare_media.txt as our media (paper tickets are bought before each ride), or the default medium."""
    fm = feed.optional("fare_media.txt", ("fare_media_id", "fare_media_type"), ("fare_media_name",))
    if fm is None:
        return {defaults.MEDIUM_ID: dict(defaults.MEDIUM)}
    return {mid: {"name": name or mid, "needs_ticket": kind == "1"}
            for mid, name, kind in zip(fm["fare_media_id"], fm["fare_media_name"], fm["fare_media_type"])}


def operator_fares(feed: Feed, agencies: dict[str, Agency], routes: dict[str, Route], media: dict[str, dict],
                   notes: list[str]) -> dict[str, dict]:
    """Each agency's fare (a FareSpec as data) and, in `notes`, what could not be expressed."""
    v2 = feed.has("fare_leg_rules.txt") and feed.has("fare_products.txt")
    prices = _v2_prices(feed, routes, media) if v2 else _v1_prices(feed, agencies, routes)
    out = {}
    for key, agency in agencies.items():
        found, problem, currency, factors = prices.get(key, ([], None, "CNY", {}))
        if not found:
            notes.append(f"{agency.name}: no fare in the feed; ASSUMPTION: free (0 CNY)")
            out[key] = {"kind": "distance_bands", "base_cny": 0}
            continue
        lowest = min(found)
        if problem or len(set(found)) > 1:
            why = problem or f"prices differ between its routes ({', '.join(f'{p:g}' for p in sorted(set(found)))})"
            notes.append(f"{agency.name}: fares cannot be expressed ({why}); ASSUMPTION: a flat {lowest:g} CNY, "
                         "its lowest price")
        if currency != "CNY":
            notes.append(f"{agency.name}: prices in {currency} taken as CNY amounts")
        out[key] = {"kind": "distance_bands", "base_cny": lowest}
        if factors:
            out[key]["media_factor"] = factors
    return out


def _v1_prices(feed: Feed, agencies: dict[str, Agency], routes: dict[str, Route]) -> dict:
    """agency -> (prices, why they cannot be expressed or None, currency, {}) from Fares v1."""
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
    out: dict[str, tuple] = {}
    only = next(iter(agencies)) if len(agencies) == 1 else None
    for fid, aid, p, cur in zip(fa["fare_id"], fa["agency_id"], price, fa["currency_type"]):
        owners: set[str | None] = {routes[r].agency for r in on_routes.get(fid, ()) if r in routes} or {aid or only}
        for key in owners & set(agencies):
            assert key is not None  # a key of `agencies`
            found, problem, _, _ = out.get(key, ([], None, cur, {}))
            out[key] = (found + [float(p)], problem or ("fares by zone (fare_rules origin_id, destination_id or "
                                                        "contains_id)" if fid in zoned else None), cur, {})
    return out


def _v2_prices(feed: Feed, routes: dict[str, Route], media: dict[str, dict]) -> dict:
    """agency -> (prices, why they cannot be expressed or None, currency, media factors) from Fares v2:
    the products of the leg rules that apply to its routes' networks (for the default rider)."""
    rules = feed.table("fare_leg_rules.txt", ("fare_product_id",), ("network_id", "from_area_id", "to_area_id",
                                                                    "from_timeframe_group_id", "to_timeframe_group_id"))
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
    feed.check_known("fare_leg_rules.txt", "fare_product_id", rules["fare_product_id"], set(by_product), "fare product")
    network_of = _route_networks(feed)
    out: dict[str, tuple] = {}
    for r in routes.values():
        net = network_of.get(r.id, "")
        mine = rules[(rules["network_id"] == "") | (rules["network_id"] == net)]
        if mine.empty:
            continue
        conditional = (mine[["from_area_id", "to_area_id", "from_timeframe_group_id", "to_timeframe_group_id"]] != "").any()
        problem = "fares by area or time of day" if conditional.any() else None
        found, old_problem, cur, factors = out.get(r.agency, ([], None, "CNY", {}))
        for pid in mine["fare_product_id"]:
            amounts = by_product[pid]
            base = Counter(amounts.values()).most_common(1)[0][0]
            found = found + [base]
            cur = currency[pid]
            factors = {**factors, **{m: round(a / base, 4) for m, a in amounts.items()
                                     if m in media and base > 0 and not np.isclose(a, base)}}
        out[r.agency] = (found, old_problem or problem, cur, factors)
    return out


def _route_networks(feed: Feed) -> dict[str, str]:
    """route_id -> network_id (routes.txt network_id, or route_networks.txt)."""
    rn = feed.optional("route_networks.txt", ("network_id", "route_id"))
    if rn is not None:
        return dict(zip(rn["route_id"], rn["network_id"]))
    rt = feed.tables["routes.txt"]
    return dict(zip(rt["route_id"], rt["network_id"])) if "network_id" in rt.columns else {}
