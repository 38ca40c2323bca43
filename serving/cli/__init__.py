"""`creditgrade`: the one command line of the project, split by topic.

    app.py     the application, its one error handler, progress bars
    data.py    simulate, ingest, stats, features, docs
    model.py   train, train-table, models list|promote|rollback|seal, falsereg train, simulate-cycles
    grade.py   grade, explain, falsereg list
    month.py   month, history, warnings (the monthly cycle)
    plan.py    plan, plan commit, plan verify, inspections ingest
    keys.py    keys add, audit verify
    serve.py   serve
    demo.py    demo (what `make demo` runs), bench (what `make bench` runs)
    render.py  how every result is shown (rich tables)

Importing this package registers every command on `app`; `main` is the console entry point.
"""

from __future__ import annotations

import os

# Registers every command, in the order `--help` lists them.
from creditgrade.serving.cli import data, demo, grade, keys, model, month, plan, serve  # noqa: F401, I001
from creditgrade.serving.cli.app import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    app()
