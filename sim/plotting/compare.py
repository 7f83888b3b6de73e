"""Comparison charts of several runs (scenarios): each takes statistics already computed by the
caller (sim.report) as small tables keyed by run label, and returns a Figure (see common)."""

from __future__ import annotations
