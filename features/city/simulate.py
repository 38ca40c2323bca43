"""`creditgrade simulate`: write a whole simulated city that follows the contract.

Output folder (written whole or not at all):
- one Parquet file per contract table;
- `truth/problem_probability.parquet` (uscc, year, p_problem) and
  `truth/false_registration.parquet` (uscc, is_false_registration): the
  simulator's ground truth, never a feature;
- `manifest.json`: seed, size, years, extraction date and row counts;
- with a dirty rate, `truth/injected_faults.parquet`: every fault injected;
- `inspectors.csv`: the city's inspector directory, for the spot-check planner.
Same seed and size give byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from creditgrade.features import contract as C
from creditgrade.features.city.calendar import NO_DAY, year_start
from creditgrade.features.city.dirty import inject_faults
from creditgrade.features.city.history import STATUS_CODES, CitySimulator
from creditgrade.features.city.inspectors import inspector_directory
from creditgrade.features.city.population import Population, draw_population
from creditgrade.features.city.sink import PARQUET_OPTIONS, TableSink, to_arrow_table
from creditgrade.features.errors import CreditgradeError
from creditgrade.features.store import atomic_folder

SIMULATOR_VERSION = "1"
BURN_IN_YEARS = 2  # simulated before the window so that the first extracted year starts from a settled state
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CityConfig:
    enterprises: int
    seed: int = 0
    start_year: int = 2020
    end_year: int = 2025
    dirty_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.enterprises < 100:
            raise CreditgradeError(
                f"enterprises must be at least 100; got {self.enterprises}",
                f"企业数至少为100，当前为 {self.enterprises}",
            )
        if not 0.0 <= self.dirty_rate <= 0.2:
            raise CreditgradeError(
                f"dirty_rate must be between 0 and 0.2; got {self.dirty_rate}",
                f"故障注入比例 dirty_rate 须在 0 到 0.2 之间，当前为 {self.dirty_rate}",
            )
        if self.end_year < self.start_year:
            raise CreditgradeError(
                f"end_year {self.end_year} is before start_year {self.start_year}",
                f"结束年份 {self.end_year} 早于开始年份 {self.start_year}",
            )

    @property
    def extraction_date(self) -> str:
        return f"{self.end_year}-12-31"


def simulate_city(config: CityConfig, out: Path, overwrite: bool = False, progress: Progress | None = None) -> dict:
    """Simulate the city into `out`; returns the manifest."""
    # Long (69 lines): the order of the simulated years and tables, written whole or not at all.
    progress = progress or (lambda step, done, total: None)
    seeds = np.random.SeedSequence(config.seed).spawn(3)
    years = list(range(config.start_year, config.end_year + 1))
    total = len(years) + BURN_IN_YEARS + 3
    with atomic_folder(out, overwrite=overwrite) as tmp:
        progress("population", 0, total)
        pop = draw_population(np.random.default_rng(seeds[0]), config.enterprises, config.start_year, config.end_year)
        end_day = year_start(config.end_year + 1) - 1
        sim = CitySimulator(pop, np.random.default_rng(seeds[1]), config.start_year, end_day)
        (tmp / "truth").mkdir()
        sinks = {t.name: TableSink(t, tmp) for t in C.TABLES if t.name not in ("enterprises", "shareholdings")}
        truth_writer = pq.ParquetWriter(tmp / "truth" / "problem_probability.parquet", TRUTH_SCHEMA, **PARQUET_OPTIONS)
        for i, year in enumerate(range(config.start_year - BURN_IN_YEARS, config.start_year)):
            progress(f"burn-in {year}", i + 1, total)
            sim.run_year(year)  # records before the window are not extracted, but shape the state
        for i, year in enumerate(years):
            progress(f"year {year}", BURN_IN_YEARS + i + 1, total)
            buf, truth = sim.run_year(year)
            for name, sink in sinks.items():
                chunk = buf.merged(name)
                if chunk is not None:
                    sink.write(chunk)
            truth_writer.write_table(
                pa.table(
                    {
                        "uscc": pa.array(pop.uscc[truth["ent"]]),
                        "year": pa.array(truth["year"], pa.int64()),
                        "p_problem": pa.array(truth["p_problem"], pa.float64()),
                    },
                    schema=TRUTH_SCHEMA,
                )
            )
        for sink in sinks.values():
            sink.close()
        truth_writer.close()
        progress("registers", total - 2, total)
        _write(tmp, "enterprises", enterprise_rows(pop, sim))
        _write(tmp, "shareholdings", shareholding_rows(pop, np.random.default_rng(seeds[2])))
        pq.write_table(
            pa.table({"uscc": pa.array(pop.uscc), "is_false_registration": pa.array(pop.false_reg)}),
            tmp / "truth" / "false_registration.parquet",
            **PARQUET_OPTIONS,
        )
        inspector_directory(
            pop.uscc, pop.region, np.random.default_rng(np.random.SeedSequence([config.seed, 2]))
        ).to_csv(tmp / "inspectors.csv", index=False)
        if config.dirty_rate > 0:
            progress("injecting faults", total - 1, total)
            inject_faults(
                tmp,
                config.dirty_rate,
                np.random.default_rng(np.random.SeedSequence([config.seed, 1])),
                config.extraction_date,
            )
        manifest = {
            "simulator_version": SIMULATOR_VERSION,
            "enterprises": config.enterprises,
            "seed": config.seed,
            "start_year": config.start_year,
            "end_year": config.end_year,
            "extraction_date": config.extraction_date,
            "dirty_rate": config.dirty_rate,
            "rows": {t.name: pq.ParquetFile(tmp / f"{t.name}.parquet").metadata.num_rows for t in C.TABLES},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        progress("done", total, total)
    return manifest


TRUTH_SCHEMA = pa.schema([("uscc", pa.string()), ("year", pa.int64()), ("p_problem", pa.float64())])


def _write(folder: Path, name: str, columns: dict[str, np.ndarray]) -> None:
    pq.write_table(to_arrow_table(C.table(name), columns), folder / f"{name}.parquet", **PARQUET_OPTIONS)


def _ids(prefix: str, values: np.ndarray, width: int = 8) -> np.ndarray:
    if values.size == 0:
        return np.empty(0, dtype=object)
    return np.char.add(prefix, np.char.zfill(values.astype(str), width)).astype(object)


def enterprise_rows(pop: Population, sim: CitySimulator) -> dict[str, np.ndarray]:
    """The register as at extraction: final status and closing date of every enterprise."""
    phone = np.where(
        pop.phone >= 0,
        _ids("TP", pop.phone),
        np.where(pop.phone <= -2, _ids("TA", -2 - pop.phone, 6), _ids("TE", np.arange(pop.n))),
    )
    return {
        "uscc": pop.uscc,
        "name": pop.name,
        "region_code": np.array(list(C.DISTRICTS), dtype=object)[pop.region],
        "industry_section": np.array(list(C.INDUSTRY_SECTIONS), dtype=object)[pop.industry],
        "legal_form": np.array(list(C.LEGAL_FORMS), dtype=object)[pop.legal_form],
        "business_scope": pop.scope,
        "established_date": pop.established,
        "closed_date": sim.closed,
        "status": np.array(STATUS_CODES, dtype=object)[sim.status],
        "registered_capital": pop.registered_capital,
        "paid_in_capital": pop.paid_in_capital,
        "legal_rep_id": _ids("P", pop.legal_rep),
        "address_id": _ids("ADR", pop.address),
        "phone_id": phone,
        "agent_id": np.where(pop.agent >= 0, _ids("AGT", np.maximum(pop.agent, 0), 6), None),
    }


def shareholding_rows(pop: Population, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The legal representative as main holder, sometimes a co-investor, and parent companies of subsidiaries."""
    n = pop.n
    has_parent = pop.parent >= 0
    rep_share = np.where(has_parent, 0.0, np.where(rng.random(n) < 0.55, 1.0, np.round(rng.uniform(0.5, 0.95, n), 4)))
    co = ~has_parent & (rep_share < 1.0)
    parent_share = np.round(rng.uniform(0.51, 1.0, n), 4)
    ent = np.concatenate([np.flatnonzero(~has_parent), np.flatnonzero(co), np.flatnonzero(has_parent)])
    kind = np.concatenate(
        [np.full((~has_parent).sum(), "person"), np.full(co.sum(), "person"), np.full(has_parent.sum(), "enterprise")]
    ).astype(object)
    holder = np.concatenate(
        [
            _ids("P", pop.legal_rep[~has_parent]),
            _ids("P", pop.n_persons + np.flatnonzero(co)),
            pop.uscc[pop.parent[has_parent]].astype(object),
        ]
    )
    share = np.concatenate([rep_share[~has_parent], np.round(1.0 - rep_share[co], 4), parent_share[has_parent]])
    order = np.argsort(ent, kind="stable")
    ent = ent[order]
    return {
        "uscc": pop.uscc[ent],
        "holder_kind": kind[order],
        "holder_id": holder[order],
        "share_ratio": share[order],
        "start_date": pop.established[ent],
        "end_date": np.full(ent.size, NO_DAY),
    }


def describe(manifest: dict) -> str:
    return (
        f"{manifest['enterprises']:,} enterprises, {manifest['start_year']}–{manifest['end_year']}, "
        f"extracted {manifest['extraction_date']}, seed {manifest['seed']}"
    )
