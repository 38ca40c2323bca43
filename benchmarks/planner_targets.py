"""Benchmark: the spot-check planner's targets on a simulated city (issue #6).

    .venv/bin/python benchmarks/planner_targets.py --enterprises 200000 --out data/cyc200k --seeds 0 1 2

Simulates and ingests the city once (kept under --out), then runs `simulate-cycles` (6 monthly cycles,
a budget of 3% of enterprises with a 0.5% floor) once per seed of the draws and outcomes, each in its
own process and per refit schedule (`--schedules warm full`: side by side in one run); the feature panel is
built first, timed on its own. Targets:
- problems found per 1,000 checks ≥ 3× a uniform random draw of the same size — the first cycle's plan
  is drawn from `creditgrade train`'s model (the champion's procedure); later cycles from the refits;
- calibration error on the whole city against the truth after 6 cycles, weighted ≤ ½ × unweighted;
- (issue #18) the six cycles on the full city (2.23 M) in ≤ 30 min, the panel included.

    .venv/bin/python benchmarks/planner_targets.py --enterprises 2230000 --out data/cyc2230k --seeds 0 --schedules warm
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from measure import timed

CITY = """
from creditgrade.features.city.simulate import CityConfig, simulate_city
from creditgrade.features.ingest import ingest
simulate_city(CityConfig({n}, {city_seed}), '{out}/raw', overwrite=True)
ingest('{out}/raw', '{out}/clean', overwrite=True)
"""
PANEL = """
import json
from pathlib import Path
from creditgrade.training.cycles import CycleDates, feature_panel
year = int(json.load(open('{out}/raw/manifest.json'))['end_year'])
feature_panel(Path('{out}/clean'), CycleDates(year, {months}), Path('{out}/features.parquet'))
"""
CYCLES = """
from creditgrade.training.cycles import simulate_cycles
simulate_cycles('{out}/clean', '{out}/raw', '{out}/{folder}', months={months}, seed='{seed}',
                features='{out}/features.parquet', schedule='{schedule}')
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--enterprises", type=int, default=200_000)
    p.add_argument("--city-seed", type=int, default=11)
    p.add_argument("--out", default="data/cyc200k")
    p.add_argument("--months", type=int, default=6)
    p.add_argument("--seeds", nargs="+", default=["0", "1", "2"])
    p.add_argument("--schedules", nargs="+", default=["warm"], help="Refit schedules to run side by side (warm, full).")
    p.add_argument("--fresh-panel", action="store_true", help="Build the feature panel again, timed (else kept).")
    a = p.parse_args()
    if not (Path(a.out) / "clean" / "spot_checks.parquet").exists():
        wall, rss = timed(CITY.format(n=a.enterprises, city_seed=a.city_seed, out=a.out))
        print(f"city of {a.enterprises:,} simulated and ingested: {wall:.0f} s, peak RSS {rss:.2f} GB")
    if a.fresh_panel:
        (Path(a.out) / "features.parquet").unlink(missing_ok=True)
    panel, rss = timed(PANEL.format(out=a.out, months=a.months))  # (a panel of the same dates is kept)
    print(f"feature panel (the loop's month ends and three year ends): {panel:.0f} s, peak RSS {rss:.2f} GB")
    for seed, schedule in ((seed, schedule) for seed in a.seeds for schedule in a.schedules):
        folder = f"seed{seed}" if schedule == "warm" else f"seed{seed}-{schedule}"
        wall, rss = timed(CYCLES.format(out=a.out, folder=folder, seed=seed, months=a.months, schedule=schedule))
        r = json.loads((Path(a.out) / folder / "cycles.json").read_text())
        timing = {"loop_s": wall, "panel_s": panel, "peak_rss_gb": rss, "schedule": schedule}
        (Path(a.out) / folder / "timing.json").write_text(json.dumps(timing, indent=2) + "\n")
        print(
            f"seed {seed}, {schedule} refits: loop {wall:.0f} s "
            f"(with the panel built in this run: {wall + panel:.0f} s)"
        )
        first = next(c for c in r["cycles"] if c["cycle"] == 1 and c["run"] == "weighted")
        weighted = [c["ratio_to_uniform"] for c in r["cycles"] if c["run"] == "weighted"]
        err = r["final_calibration_error"]
        print(f"seed {seed}: {wall:.0f} s, peak RSS {rss:.2f} GB; {r['enterprises_at_t0']:,} enterprises at T0")
        print(
            f"  first plan (train's model): {first['per_1000']:.0f} problems per 1,000 checks vs "
            f"{first['uniform_per_1000']:.0f} uniform = {first['ratio_to_uniform']:.2f}x (target >= 3x) "
            f"{'OK' if first['ratio_to_uniform'] >= 3 else 'MISSED'}; weighted cycles "
            f"{min(weighted):.2f}-{max(weighted):.2f}x"
        )
        print(
            "  calibration error per cycle, weighted: "
            + " ".join(f"{c['calibration_error']:.4f}" for c in r["cycles"] if c["run"] == "weighted")
        )
        print(
            "  calibration error per cycle, unweighted: "
            + " ".join(f"{c['calibration_error']:.4f}" for c in r["cycles"] if c["run"] == "unweighted")
        )
        print(
            f"  after {r['months']} cycles: weighted {err['weighted']:.4f} / unweighted {err['unweighted']:.4f} = "
            f"{r['weighted_over_unweighted']:.2f} (target <= 0.5) "
            f"{'OK' if r['weighted_over_unweighted'] <= 0.5 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
