"""The `creditgrade` application object, its one error handler, and what every command shares.

Each command is a thin wrapper: parse options, call the package that does the work, show progress and
render the result (`render.py`). A `CreditgradeError` from any command ends it with exit code 2 and the
message in English and Chinese, never a traceback (`Commands.invoke`, the one handler); anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from creditgrade.features.errors import CreditgradeError
from creditgrade.features.settings import settings

console = Console()


class Commands(TyperGroup):
    """The command group with the CLI's one handler of refusals."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CreditgradeError as exc:
            fail(exc)


def fail(exc: CreditgradeError) -> None:
    """Print a refusal in both languages and end the command with exit code 2."""
    console.print(f"[red]error:[/] {escape(exc.en)}")
    console.print(f"[red]错误：[/]{escape(exc.zh)}")
    raise typer.Exit(code=2)


app = typer.Typer(
    cls=Commands,
    add_completion=False,
    no_args_is_help=True,
    help="Enterprise credit-risk grading for market regulators (企业信用风险分类).",
)


def data_dir() -> Path:
    """Where generated data goes by default: <home>/data (see `creditgrade.features.settings`)."""
    return settings().data


@contextlib.contextmanager
def progress_bar(title: str) -> Iterator:
    with Progress(
        TextColumn(f"[bold]{escape(title)}[/] {{task.description}}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("", total=1)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        yield update
