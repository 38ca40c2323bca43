"""The audit log of every lookup: append-only JSON lines, each chained to the one before by SHA-256.

The service only ever opens the file for appending, and under an exclusive lock, so that several
workers can share it. Each entry carries the hash of the previous entry and its own hash, so any
rewrite, removal or reordering is detected by `verify` (`creditgrade audit verify`). Entries hold the
time, the API key id and role, the endpoint, the USCC and the model version — never a person.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from pathlib import Path

from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.settings import settings

GENESIS = "0" * 64


class AuditError(CreditgradeError):
    """An audit log whose chain does not verify."""

    code = "audit_chain"


def _digest(previous: str, body: str) -> str:
    return hashlib.sha256((previous + body).encode()).hexdigest()


def _last_hash(fd: int) -> str:
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return GENESIS
    step, tail = 4096, b""
    pos = size
    while pos > 0:
        pos = max(0, pos - step)
        chunk = os.pread(fd, size - pos, pos)
        lines = chunk.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or pos == 0:
            tail = lines[-1]
            break
    return json.loads(tail)["hash"]


class AuditLog:
    def __init__(self, path: Path | None = None):
        self.path = Path(path or settings().audit_log)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self.reader = os.open(self.path, os.O_RDONLY)

    def append(self, entries: list[dict]) -> None:
        """Append entries (each a dict of plain values) in one locked write."""
        if not entries:
            return
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            previous = _last_hash(self.reader)
            lines = []
            for e in entries:
                body = json.dumps({"time": now, **e}, ensure_ascii=False, sort_keys=True)
                h = _digest(previous, body)
                record = json.loads(body)
                record.update(previous=previous, hash=h)
                lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
                previous = h
            os.write(self.fd, ("\n".join(lines) + "\n").encode())
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self.fd)
        os.close(self.reader)


def verify(path: Path) -> int:
    """Check the whole chain; returns the number of entries, or raises AuditError naming the first bad line."""
    previous = GENESIS
    n = 0
    if not Path(path).exists():
        raise NotFound(f"audit log {path} does not exist", f"审计日志 {path} 不存在")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            try:
                record = json.loads(line)
                claimed_prev, claimed = record.pop("previous"), record.pop("hash")
            except (json.JSONDecodeError, KeyError):
                raise AuditError(f"{path}, line {n}: not an audit entry", f"{path} 第 {n} 行不是审计记录") from None
            if claimed_prev != previous:
                raise AuditError(
                    f"{path}, line {n}: chain broken (an entry before it was removed or changed)",
                    f"{path} 第 {n} 行：哈希链断裂（此前有记录被删除或修改）",
                )
            if _digest(previous, json.dumps(record, ensure_ascii=False, sort_keys=True)) != claimed:
                raise AuditError(
                    f"{path}, line {n}: entry altered (its hash does not match)",
                    f"{path} 第 {n} 行：记录被篡改（哈希不符）",
                )
            previous = claimed
    return n
