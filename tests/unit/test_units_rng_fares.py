"""Clock-time parsing, named random streams, and fares against the operators' official formulas."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.fares import operator_fare
from sim.loading import load_network_files
from sim.rng import KeyedStreams, stable_hash, stream
from sim.schema import FareSpec
from sim.units import format_time, parse_time

REPO_ROOT = Path(__file__).resolve().parent.parent.parent

# --------------------------------------------------------------------------------------------------
# parse_time


@pytest.mark.parametrize("value, seconds", [
    ("07:30", 7 * 3600 + 30 * 60),
    ("7:30", 7 * 3600 + 30 * 60),
    ("00:00", 0.0),
    ("07:30:15", 7 * 3600 + 30 * 60 + 15),
    ("25:10:05", 25 * 3600 + 10 * 60 + 5),  # past midnight, as GTFS writes it
    ("24:00", 86400.0),
    (" 06:00 ", 21600.0),
    ("06:00:01.5", 21601.5),
    (3600, 3600.0),
    (0, 0.0),
    (3600.5, 3600.5),
])
def test_parse_time_accepted_forms(value, seconds):
    out = parse_time(value)
    assert isinstance(out, float)
    assert out == seconds


@pytest.mark.parametrize("value", [
    "7.30", "07:60", "07:30:60", "7h30", "", "noon", "07:3", "-01:00", "07:30:15:00", "1:2:3",
    -1, float("nan"), float("inf"), True, None, [7, 30],
])
def test_parse_time_rejects(value):
    with pytest.raises(ValueError):
        parse_time(value)


def test_format_time_round_trip():
    assert format_time(25 * 3600 + 10 * 60 + 5) == "25:10:05"
    assert parse_time(format_time(27125.0)) == 27125.0


# --------------------------------------------------------------------------------------------------
# rng.stream


def test_stream_same_key_same_numbers():
    a = stream(42, 3, "demand/all/od").random(1000)
    b = stream(42, 3, "demand/all/od").random(1000)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("other", [(43, 3, "demand/all/od"), (42, 4, "demand/all/od"), (42, 3, "demand/all/time")])
def test_stream_differs_by_seed_replication_and_name(other):
    a = stream(42, 3, "demand/all/od").random(1000)
    b = stream(*other).random(1000)
    assert not np.array_equal(a, b)
    # independent-looking: no strong correlation between the two streams
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.15


def test_stream_does_not_depend_on_other_streams_being_drawn():
    first = stream(7, 0, "routing").random(50)
    stream(7, 0, "demand/x/od").random(10_000)  # drawing from another stream changes nothing
    assert np.array_equal(first, stream(7, 0, "routing").random(50))


def test_stable_hash_is_the_same_in_every_process():
    # load sim/rng.py on its own (not the whole package) to keep the two interpreters quick
    code = ("import importlib.util as u; s = u.spec_from_file_location('rng', 'sim/rng.py'); "
            "m = u.module_from_spec(s); s.loader.exec_module(m); print(m.stable_hash('demand/all/od'))")
    outs = set()
    for hashseed in ("1", "2"):
        res = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": hashseed}, timeout=60, check=True)
        outs.add(int(res.stdout.strip()))
    assert outs == {stable_hash("demand/all/od")}


def test_stream_known_first_value_is_stable():
    # pins the derivation (seed, replication, blake2b(name)) -> PCG64 so that old runs stay reproducible
    seq = np.random.SeedSequence(entropy=5, spawn_key=(1, stable_hash("x")))
    expected = np.random.Generator(np.random.PCG64(seq)).random(3)
    assert np.array_equal(stream(5, 1, "x").random(3), expected)


# --------------------------------------------------------------------------------------------------
# Fares

SHANGHAI = FareSpec(kind="distance_bands", base_cny=3, base_km=6,
                    bands=[{"up_to_km": 16, "km_per_cny": 10}, {"km_per_cny": 10}])
SUZHOU = FareSpec(kind="distance_bands", base_cny=2, base_km=6,
                  bands=[{"up_to_km": 16, "km_per_cny": 5}, {"up_to_km": 30, "km_per_cny": 7}, {"km_per_cny": 9}],
                  media_factor={"transport_card": 0.95})
PER_KM = FareSpec(kind="per_km", rate_cny_per_km=0.45, minimum_cny=4)


def shanghai_official(km: float) -> int:
    """3 CNY up to 6 km, 4 CNY up to 16 km, then +1 CNY per (started) 10 km."""
    if km <= 6:
        return 3
    if km <= 16:
        return 4
    return 4 + math.ceil((km - 16) / 10 - 1e-9)


@pytest.mark.parametrize("km, cny", [(43.7, 7), (71.8, 10), (62.3, 9), (0.5, 3), (6.0, 3), (6.01, 4),
                                     (16.0, 4), (16.01, 5), (26.0, 5), (26.01, 6)])
def test_shanghai_fare(km, cny):
    assert operator_fare(SHANGHAI, km, "qr") == cny
    assert shanghai_official(km) == cny


def test_shanghai_fare_matches_formula_on_a_grid():
    for km in np.arange(0.1, 90.0, 0.1):
        km = round(float(km), 1)
        assert operator_fare(SHANGHAI, km, "qr") == shanghai_official(km), km


@pytest.mark.parametrize("km, cny", [(41.25, 8), (6.0, 2), (11.0, 3), (16.0, 4), (23.0, 5), (30.0, 6),
                                     (39.0, 7), (39.01, 8)])
def test_suzhou_fare(km, cny):
    assert operator_fare(SUZHOU, km, "sz_app_qr") == cny


def test_media_factor_discount():
    assert operator_fare(SUZHOU, 41.25, "transport_card") == pytest.approx(7.6, abs=1e-9)
    assert operator_fare(SUZHOU, 11.0, "transport_card") == pytest.approx(2.85, abs=1e-9)
    assert operator_fare(SUZHOU, 41.25, "sh_app_qr") == 8  # other media: no discount


@pytest.mark.parametrize("km, cny", [
    (5.0, 4),     # 2.25 -> 2, raised to the minimum 4
    (10.0, 4),    # 4.50: 0.5 rounds down
    (11.0, 5),    # 4.95 -> 5
    (20.0, 9),    # 9.00
    (21.2, 10),   # 9.54 -> 10
    (30.0, 13),   # 13.50: 0.5 rounds down
    (31.0, 14),   # 13.95 -> 14
])
def test_per_km_fare(km, cny):
    assert operator_fare(PER_KM, km, "qr") == cny


def test_shipped_operator_fares_follow_the_official_formulas():
    loaded = load_network_files(REPO_ROOT / "networks" / "operators.yaml")
    ops = {op.id: op for op in loaded.files[0][0].operators}
    shm, szm = ops["SHM"].fare, ops["SZM"].fare
    assert operator_fare(shm, 43.7, "sh_app_qr") == 7    # Huaqiao -> Xujiahui
    assert operator_fare(shm, 71.8, "sh_app_qr") == 10   # Huaqiao -> Disney Resort
    assert operator_fare(shm, 62.3, "sh_app_qr") == 9
    assert operator_fare(szm, 41.25, "sz_app_qr") == 8   # all of Suzhou L11
    assert operator_fare(szm, 41.25, "transport_card") == pytest.approx(7.6, abs=1e-9)
    assert operator_fare(shm, 43.7, "transport_card") == 7  # no discount in Shanghai


def test_keyed_streams_are_splitmix_of_the_key_and_the_pair_whatever_the_batch():
    # the state of each (a, b) pair's generator against SplitMix64's finaliser on Python integers, and
    # the same numbers from a batch of one as from a batch of many
    mask = (1 << 64) - 1

    def mix(x: int) -> int:
        x &= mask
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    rng = np.random.default_rng(5)
    key, a, b = 0xDEADBEEF12345678, rng.integers(0, 2**40, 50), rng.integers(0, 30, 50)
    streams = KeyedStreams(key)
    together = [(g.bit_generator.state["state"]["state"], g.random(2).tolist()) for g in streams.each(a, b)]
    for (state, drawn), ai, bi in zip(together, a.tolist(), b.tolist()):
        hi = mix(key + ai * 0x9E3779B97F4A7C15 + bi * 0xD1B54A32D192ED03)
        assert state == (hi << 64) | mix(hi ^ 0x94D049BB133111EB)
        alone = next(streams.each(np.asarray([ai]), np.asarray([bi])))
        assert alone.random(2).tolist() == drawn
