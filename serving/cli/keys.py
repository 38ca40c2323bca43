"""Security commands: API keys of the service and its audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from creditgrade.features.settings import settings
from creditgrade.serving.cli.app import Commands, app, console

keys_app = typer.Typer(cls=Commands, help="API keys of the service (服务密钥).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(cls=Commands, help="The service's audit log (审计日志).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@keys_app.command("add")
def keys_add(
    key_id: str = typer.Option(..., "--id", help="A name for the key, e.g. the holder's staff unit."),
    role: str = typer.Option(..., help="regulator, planner or admin."),
    file: Optional[Path] = typer.Option(None, help="Key file (only hashes are stored); default <data>/api_keys.json."),
) -> None:
    """Create an API key; it is printed once and only its SHA-256 hash is kept."""
    from creditgrade.serving.auth import add_key

    key = add_key(file or settings().api_keys_file, key_id, role)
    console.print(f"API key for {key_id} ({role}), shown once — store it safely (密钥仅显示一次):")
    print(key)


@audit_app.command("verify")
def audit_verify(path: Optional[Path] = typer.Argument(None, help="The log; default <data>/audit/audit.log.")) -> None:
    """Check the audit log's hash chain: no entry altered, removed or reordered."""
    from creditgrade.serving.audit import verify

    path = path or settings().audit_log
    console.print(f"{path}: {verify(path):,} entries, chain intact (审计链完整)")
