"""Calibration: fit a scenario's assumed numbers (zone generation, mode constants) to observed counts.

    fit = calibrate(Path("scenarios/calibration/cross_border_zones.yaml"), lambda scn: run(scn).summary)
    text = scenario_text(fit, out, revision)      # the calibrated variant, counts in its header
"""

from .fit import CountFit, Fit, calibrate, load_calibration
from .output import fit_table, is_calibrated_scenario, scenario_text

__all__ = ["CountFit", "Fit", "calibrate", "fit_table", "is_calibrated_scenario", "load_calibration", "scenario_text"]
