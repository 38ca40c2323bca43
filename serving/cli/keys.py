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


@keys_app.command("list")
def keys_list(
    file: Optional[Path] = typer.Option(None, help="Key file; default <data>/api_keys.json."),
) -> None:
    """Every key: id, role, created, revoked (hashes are never shown) (密钥清单)."""
    from rich.table import Table

    from creditgrade.serving.auth import list_keys

    path = file or settings().api_keys_file
    t = Table(title=f"API keys in {path} (服务密钥)")
    for c in ("id", "role 角色", "created 创建", "revoked 吊销"):
        t.add_column(c)
    for k in list_keys(path):
        t.add_row(k["id"], k["role"], k.get("created") or "—", k.get("revoked") or "—")
    console.print(t)


@keys_app.command("revoke")
def keys_revoke(
    key_id: str = typer.Option(..., "--id", help="The key to revoke."),
    file: Optional[Path] = typer.Option(None, help="Key file; default <data>/api_keys.json."),
) -> None:
    """Revoke a key: a running service refuses it within a second, no restart (吊销密钥)."""
    from creditgrade.serving.auth import revoke_key

    k = revoke_key(file or settings().api_keys_file, key_id)
    console.print(f"API key {k['id']} ({k['role']}) revoked at {k['revoked']} (已吊销)")
