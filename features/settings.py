"""Settings: every `CREDITGRADE_*` environment variable the product reads, gathered in one object.

`settings()` reads the environment each time it is called (cheap), so a test or a notebook that sets
a variable sees it take effect. Where things live does not depend on the working directory:

- `home` — `CREDITGRADE_HOME`; else the checkout the package is installed from (the folder holding
  this project's pyproject.toml); else, for an installed wheel, `$XDG_DATA_HOME/creditgrade`
  (`~/.local/share/creditgrade`).
- `mlruns` — the MLflow store (SQLite database and artifacts): `CREDITGRADE_MLRUNS`, default
  `home/mlruns`. `CREDITGRADE_TRACKING_URI` points MLflow at another server instead.
- `data` — generated cities and outputs: `home/data`; the service's graded tables, lists, keys and
  audit log default to places under it.

| variable | setting | default |
|---|---|---|
| CREDITGRADE_HOME | home | the checkout, else ~/.local/share/creditgrade |
| CREDITGRADE_MLRUNS | mlruns | home/mlruns |
| CREDITGRADE_TRACKING_URI | tracking_uri | sqlite:///<mlruns>/mlflow.db |
| CREDITGRADE_GRADED | graded | home/data/graded |
| CREDITGRADE_FALSEREG | falsereg | home/data/falsereg |
| CREDITGRADE_MONTHLY | monthly | home/data/monthly (months/ and history/) |
| CREDITGRADE_RECORDS | records | home/data/clean (the ingested raw tables, for objections) |
| CREDITGRADE_DATABASE_URL | database_url | sqlite:///<monthly>/workflow.db; a postgresql:// URL for a team |
| CREDITGRADE_LOOKUPS | lookups | files (the graded folder, mapped); database: the team database (PostgreSQL) |
| CREDITGRADE_OBJECTION_DAYS | objection_days | 15 (working days to answer an objection) |
| CREDITGRADE_CHECKS | checks | none |
| CREDITGRADE_INSPECTORS | inspectors | none |
| CREDITGRADE_API_KEYS | api_keys | none (id:role:sha256,...) |
| CREDITGRADE_API_KEYS_FILE | api_keys_file | home/data/api_keys.json |
| CREDITGRADE_AUDIT_LOG | audit_log | home/data/audit/audit.log |
| CREDITGRADE_AUDIT_HEAD | audit_head | <audit log>.head (the chain's published head) |
| CREDITGRADE_AUDIT_KEY | audit_key | none (the head unsigned; set it to sign with HMAC-SHA256) |
| CREDITGRADE_MAX_BODY | max_body | 4000000 (bytes of a request body; larger: 413) |
| CREDITGRADE_RATE_KEY | rate_key | 1000 (requests a second per API key, per worker; more: 429) |
| CREDITGRADE_RATE_ADDRESS | rate_address | 2000 (requests a second per client address, per worker) |
| CREDITGRADE_RATE_NO_KEY | rate_no_key | 20 (requests a second without a valid key, per address and worker) |
| CREDITGRADE_WORKERS | workers | the cores |
| CREDITGRADE_DUCKDB_MEMORY | duckdb_memory | 3GB |
| CREDITGRADE_SERVER_LOG | server_log | none (a started server's output is dropped) |
| CREDITGRADE_CONSOLE_MINUTES | console_minutes | 480 (a web-console session ends this long after login) |
| CREDITGRADE_CONSOLE | console | <data>/console (the console's session secret, ended sessions, drawn plans) |
| CREDITGRADE_SPARK_MASTER | spark_master | local[<cores>] (where `month --engine spark` runs: any spark.master) |
| CREDITGRADE_SPARK_DRIVER_MEMORY | spark_driver_memory | a third of memory, 4g-16g (driver heap; local: tasks' too) |
| OMP_NUM_THREADS | threads | the cores (LightGBM, OpenMP) |
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

PROJECT = "creditgrade"


def _spark_heap() -> str:
    """A third of the machine's memory, 4 to 16 GB: in local mode the month's tasks share the driver's heap, and
    at 2.23 M enterprises two tasks failed in 4 GB and ran in 8 GB (docs/scale-out.md); the rest is left to the
    Python workers, which hold a partition each."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(4, min(16, round(total / 3 / 2**30)))}g"


@dataclass(frozen=True)
class Settings:
    home: Path
    mlruns: Path
    tracking_uri: str | None
    data: Path
    graded: Path
    falsereg: Path
    monthly: Path
    records: Path
    database_url: str
    lookups: str  # where the service answers lookups and history from: "files" or "database" (serving/database.py)
    objection_days: int
    checks: Path | None
    inspectors: Path | None
    api_keys: str | None
    api_keys_file: Path
    audit_log: Path
    audit_head: Path | None
    audit_key: str | None
    max_body: int
    rate_key: int
    rate_address: int
    rate_no_key: int
    workers: int
    threads: int
    duckdb_memory: str
    server_log: Path | None
    console_minutes: int  # how long a console session lasts after login
    console: Path  # the console's session secret, ended sessions and the plans drawn in it
    spark_master: str  # where the month-end run on Spark runs (`serving.spark`)
    spark_driver_memory: str  # the driver's JVM heap (in local mode the tasks run in it too)

    def to_env(self) -> dict[str, str]:
        """The variables that give a child process (the service's workers) these same settings."""
        env = {
            "CREDITGRADE_HOME": str(self.home),
            "CREDITGRADE_MLRUNS": str(self.mlruns),
            "CREDITGRADE_GRADED": str(self.graded),
            "CREDITGRADE_FALSEREG": str(self.falsereg),
            "CREDITGRADE_MONTHLY": str(self.monthly),
            "CREDITGRADE_RECORDS": str(self.records),
            "CREDITGRADE_DATABASE_URL": self.database_url,
            "CREDITGRADE_LOOKUPS": self.lookups,
            "CREDITGRADE_OBJECTION_DAYS": str(self.objection_days),
            "CREDITGRADE_API_KEYS_FILE": str(self.api_keys_file),
            "CREDITGRADE_AUDIT_LOG": str(self.audit_log),
            "CREDITGRADE_MAX_BODY": str(self.max_body),
            "CREDITGRADE_RATE_KEY": str(self.rate_key),
            "CREDITGRADE_RATE_ADDRESS": str(self.rate_address),
            "CREDITGRADE_RATE_NO_KEY": str(self.rate_no_key),
            "CREDITGRADE_WORKERS": str(self.workers),
            "CREDITGRADE_DUCKDB_MEMORY": self.duckdb_memory,
            "CREDITGRADE_CONSOLE_MINUTES": str(self.console_minutes),
            "CREDITGRADE_CONSOLE": str(self.console),
            "CREDITGRADE_SPARK_MASTER": self.spark_master,
            "CREDITGRADE_SPARK_DRIVER_MEMORY": self.spark_driver_memory,
        }
        optional = {
            "CREDITGRADE_TRACKING_URI": self.tracking_uri,
            "CREDITGRADE_CHECKS": self.checks,
            "CREDITGRADE_INSPECTORS": self.inspectors,
            "CREDITGRADE_API_KEYS": self.api_keys,
            "CREDITGRADE_SERVER_LOG": self.server_log,
            "CREDITGRADE_AUDIT_HEAD": self.audit_head,
            "CREDITGRADE_AUDIT_KEY": self.audit_key,
        }
        env.update({k: str(v) for k, v in optional.items() if v is not None})
        return env


@functools.cache
def checkout() -> Path | None:
    """The project checkout this package is installed from (editable install), or None for a wheel. Read once
    per process: `settings()` is called on every audit write, and parsing pyproject.toml each time cost 2 ms."""
    root = Path(__file__).resolve().parents[1]
    try:
        name = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None
    return root if name == PROJECT else None


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def _optional_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else None


def _count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        from creditgrade.features.errors import CreditgradeError

        raise CreditgradeError(
            f"{name} must be a positive whole number; got {value!r}",
            f"环境变量 {name} 须为正整数，当前为 {value!r}",
            code="bad_setting",
        )
    return int(value)


def _jvm_size(name: str) -> str | None:
    """A JVM memory size as Spark reads it (a whole number, optionally k, m, g or t: '8g', '512m'), checked
    here: a malformed one would otherwise stop the JVM's start with a trace that does not name the setting."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not re.fullmatch(r"[1-9][0-9]*[kmgtKMGT]?", value):
        from creditgrade.features.errors import CreditgradeError

        raise CreditgradeError(
            f"{name} must be a memory size such as 8g or 512m; got {value!r}",
            f"环境变量 {name} 须为内存大小，如 8g 或 512m，当前为 {value!r}",
            code="bad_setting",
        )
    return value.lower()


LOOKUPS = ("files", "database")


def _choice(name: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip().lower() or choices[0]
    if value not in choices:
        from creditgrade.features.errors import CreditgradeError

        raise CreditgradeError(
            f"{name} must be one of {', '.join(choices)}; got {value!r}",
            f"环境变量 {name} 须为 {'、'.join(choices)} 之一，当前为 {value!r}",
            code="bad_setting",
        )
    return value


_LAST: list = [None, None, None]  # (the environment, the working folder, the settings they gave)


def settings() -> Settings:
    """The settings as the environment gives them now. Worked out again only when the environment or the
    working folder (relative paths) changed: resolving every path took 0.4 ms, and the service asks for the
    settings on every audited lookup. The environment is compared as the process holds it (`os.environ._data`,
    bytes to bytes, one comparison in C): going through `os.environ` decodes every variable, 28 µs a call."""
    env, cwd = getattr(os.environ, "_data", os.environ), os.getcwd()
    last_env, last_cwd, last = _LAST
    if last is not None and cwd == last_cwd and env == last_env:
        return last
    seen = dict(env)  # before the settings are made from it: a change meanwhile is seen at the next call
    made = _settings()
    _LAST[:] = [seen, cwd, made]
    return made


def _settings() -> Settings:
    xdg = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    home = _optional_path("CREDITGRADE_HOME") or checkout() or xdg / PROJECT
    data = home / "data"
    monthly = _path("CREDITGRADE_MONTHLY", data / "monthly")
    cores = os.cpu_count() or 1
    return Settings(
        home=home,
        mlruns=_path("CREDITGRADE_MLRUNS", home / "mlruns"),
        tracking_uri=os.environ.get("CREDITGRADE_TRACKING_URI") or None,
        data=data,
        graded=_path("CREDITGRADE_GRADED", data / "graded"),
        falsereg=_path("CREDITGRADE_FALSEREG", data / "falsereg"),
        monthly=monthly,
        records=_path("CREDITGRADE_RECORDS", data / "clean"),
        database_url=os.environ.get("CREDITGRADE_DATABASE_URL") or f"sqlite:///{monthly / 'workflow.db'}",
        lookups=_choice("CREDITGRADE_LOOKUPS", LOOKUPS),
        objection_days=_count("CREDITGRADE_OBJECTION_DAYS", 15),
        checks=_optional_path("CREDITGRADE_CHECKS"),
        inspectors=_optional_path("CREDITGRADE_INSPECTORS"),
        api_keys=os.environ.get("CREDITGRADE_API_KEYS") or None,
        api_keys_file=_path("CREDITGRADE_API_KEYS_FILE", data / "api_keys.json"),
        audit_log=_path("CREDITGRADE_AUDIT_LOG", data / "audit" / "audit.log"),
        audit_head=_optional_path("CREDITGRADE_AUDIT_HEAD"),
        audit_key=os.environ.get("CREDITGRADE_AUDIT_KEY") or None,
        max_body=_count("CREDITGRADE_MAX_BODY", 4_000_000),
        rate_key=_count("CREDITGRADE_RATE_KEY", 1000),
        rate_address=_count("CREDITGRADE_RATE_ADDRESS", 2000),
        rate_no_key=_count("CREDITGRADE_RATE_NO_KEY", 20),
        workers=_count("CREDITGRADE_WORKERS", cores),
        threads=_count("OMP_NUM_THREADS", cores),
        duckdb_memory=os.environ.get("CREDITGRADE_DUCKDB_MEMORY") or "3GB",
        server_log=_optional_path("CREDITGRADE_SERVER_LOG"),
        console_minutes=_count("CREDITGRADE_CONSOLE_MINUTES", 480),
        console=_path("CREDITGRADE_CONSOLE", data / "console"),
        spark_master=os.environ.get("CREDITGRADE_SPARK_MASTER") or f"local[{cores}]",
        spark_driver_memory=_jvm_size("CREDITGRADE_SPARK_DRIVER_MEMORY") or _spark_heap(),
    )
