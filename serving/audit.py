"""The audit log of every lookup: append-only JSON lines, each chained to the one before by SHA-256.

The service only ever opens the file for appending, and under an exclusive lock, so that several
workers can share it. Each entry carries the hash of the previous entry and its own hash, so any
rewrite, removal or reordering is detected by `verify` (`creditgrade audit verify`). Entries hold the
time, the API key id and role, the endpoint, the USCC and the model version — never a person.

A chain alone cannot show that its last entries were cut off, or that the file was emptied: what is left
still verifies. So every write also publishes the chain's head — how many entries and the last hash — to
a separate file (`CREDITGRADE_AUDIT_HEAD`, by default beside the log; put it on another volume or ship it
off the machine to make it an external anchor), signed with HMAC-SHA256 when `CREDITGRADE_AUDIT_KEY` is
set, so that nobody without the key can forge a head for a shortened log. `verify` checks the log against
the head: a log shorter than the head, or whose entry at the head's position is another, was truncated.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
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


def head_path(path: Path) -> Path:
    """Where the head of `path`'s chain is published."""
    return settings().audit_head or Path(f"{path}.head")


def _mac(entries: int, last: str) -> str | None:
    key = settings().audit_key
    return hmac.new(key.encode(), f"{entries}:{last}".encode(), hashlib.sha256).hexdigest() if key else None


def _read_head(path: Path) -> dict | None:
    try:
        return json.loads(head_path(path).read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        raise AuditError(f"{head_path(path)}: not a chain head", f"{head_path(path)}：不是审计链头文件") from None


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
            self._publish_head(len(entries), previous)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def _publish_head(self, added: int, last: str) -> None:
        """The new head, written whole (temporary file, then renamed), under the log's lock."""
        head = _read_head(self.path)
        if head is None:
            with open(self.path, "rb") as f:
                count = sum(1 for _ in f)
        else:
            count = int(head["entries"]) + added
        target = head_path(self.path)
        tmp = target.with_name(f".{target.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"entries": count, "hash": last, "mac": _mac(count, last)}))
        os.replace(tmp, target)

    def close(self) -> None:
        os.close(self.fd)
        os.close(self.reader)


class WorkerAudit:
    """The audit log opened on first use (in the worker process that uses it), for the key middleware."""

    def __init__(self) -> None:
        self._log: AuditLog | None = None

    def __call__(self, entries: list[dict]) -> None:
        if self._log is None:
            self._log = AuditLog()
        self._log.append(entries)


def verify(path: Path) -> int:
    """Check the whole chain; returns the number of entries, or raises AuditError naming the first bad line."""
    previous = GENESIS
    n = 0
    if not Path(path).exists():
        raise NotFound(f"audit log {path} does not exist", f"审计日志 {path} 不存在")
    head = _read_head(Path(path))
    wanted = int(head["entries"]) if head is not None else -1
    at_head = GENESIS if wanted == 0 else None
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
            if n == wanted:
                at_head = claimed
    if head is not None:
        entries, last = int(head["entries"]), str(head["hash"])
        if settings().audit_key and not hmac.compare_digest(str(head.get("mac")), _mac(entries, last) or ""):
            raise AuditError(
                f"{head_path(Path(path))}: the head's signature does not match (forged, or another key)",
                f"{head_path(Path(path))}：链头签名不符（伪造或密钥不同）",
            )
        if n < entries or at_head != last:
            raise AuditError(
                f"{path}: truncated — the published head says {entries:,} entries ending in {last[:12]}…, "
                f"the log has {n:,}",
                f"{path}：被截断——已发布的链头记载 {entries:,} 条（末条哈希 {last[:12]}…），日志仅有 {n:,} 条",
            )
    return n
