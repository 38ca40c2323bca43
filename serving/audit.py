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
With the key set, every entry also carries `mac`, HMAC-SHA256 of its hash under the key, so a chain
recomputed by someone without the key after editing an entry does not verify either.

No lookup goes unaudited: when the log cannot be appended to — deleted or replaced under the running
service, its folder gone, unwritable, the disk full — `append` raises `AuditUnavailable` (503) and the
caller refuses the lookup; the service's readiness reports it. A torn last line (a write cut short by a
crash) is moved to a quarantine file beside the log, the chain continued from the last whole entry, and
the recovery itself written to the log.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import threading
from pathlib import Path

from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.settings import Settings, settings
from creditgrade.features.store import sweep_partials

GENESIS = "0" * 64
HEAD_BYTES = 256  # the head file's length: its JSON, padded, is written over itself in place


class AuditError(CreditgradeError):
    """An audit log whose chain does not verify."""

    code = "audit_chain"


class AuditUnavailable(CreditgradeError):
    """The audit log cannot be appended to: whatever needed auditing must be refused."""

    code = "audit_unavailable"
    status = 503


def _digest(previous: str, body: str) -> str:
    return hashlib.sha256((previous + body).encode()).hexdigest()


def _tail(fd: int) -> tuple[int, bytes]:
    """(where the last line starts, the last line without its newline); (0, b"") for an empty file."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return 0, b""
    pos, step = size, 4096
    while True:
        pos = max(0, pos - step)
        chunk = os.pread(fd, size - pos, pos)
        body = chunk[:-1] if chunk.endswith(b"\n") else chunk
        cut = body.rfind(b"\n")
        if cut >= 0 or pos == 0:
            return pos + cut + 1, body[cut + 1 :]
        step *= 2


def _entry_hash(line: bytes) -> str | None:
    try:
        return str(json.loads(line)["hash"])
    except (ValueError, KeyError, TypeError):
        return None


def head_path(path: Path, given: Settings | None = None) -> Path:
    """Where the head of `path`'s chain is published (with the settings `given`, else as they are now)."""
    return (given or settings()).audit_head or Path(f"{path}.head")


def _mac(entries: int, last: str, key: str | None) -> str | None:
    return hmac.new(key.encode(), f"{entries}:{last}".encode(), hashlib.sha256).hexdigest() if key else None


def _entry_mac(h: str, key: str | None) -> str | None:
    """An entry's signature with the audit key (read once per write or check by the caller: reading the
    settings per entry was 90% of a 1,000-enterprise lookup's time)."""
    return hmac.new(key.encode(), h.encode(), hashlib.sha256).hexdigest() if key else None


def _read_head(head: Path) -> dict | None:
    try:
        return json.loads(head.read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        raise AuditError(f"{head}: not a chain head", f"{head}：不是审计链头文件") from None


class AuditLog:
    def __init__(self, path: Path | None = None):
        self.path = Path(path or settings().audit_log)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self.reader = os.open(self.path, os.O_RDONLY)
        # flock excludes other processes only: the threads of one worker share this descriptor and its lock
        self.threads = threading.Lock()
        sweep_partials(head_path(self.path))  # what killed writers of the head left: once, not on every write

    def problem(self) -> str | None:
        """Why the log cannot be appended to now (None: it can): the file this log writes to must still be
        the one at its path, and writable."""
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return f"the audit log {self.path} was deleted"
        except OSError as exc:
            return f"the audit log {self.path} cannot be reached: {exc.strerror}"
        held = os.fstat(self.fd)
        if (on_disk.st_dev, on_disk.st_ino) != (held.st_dev, held.st_ino):
            return f"the audit log {self.path} was replaced by another file"
        if not os.access(self.path, os.W_OK):
            return f"the audit log {self.path} is not writable"
        return None

    def append(self, entries: list[dict]) -> None:
        """Append entries (each a dict of plain values) in one locked write; AuditUnavailable if the log cannot
        take them (nothing is then written)."""
        if not entries:
            return
        problem = self.problem()
        if problem is not None:
            raise AuditUnavailable(
                f"{problem}: refused, since every lookup must be audited", f"审计日志不可写入（{problem}）：已拒绝请求"
            )
        with self.threads:
            self._append_locked(entries)

    def _append_locked(self, entries: list[dict]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            now_set = settings()  # read once a write, not once an entry
            key, head = now_set.audit_key, head_path(self.path, now_set)
            previous = self._last_hash(now, key, head)
            lines, added = [], len(entries)
            for e in entries:
                previous = self._chained(lines, {"time": now, **e}, previous, key)
            data = ("\n".join(lines) + "\n").encode()
            try:
                written = os.write(self.fd, data)
                if written != len(data):
                    raise OSError(28, "short write")
            except OSError as exc:
                raise AuditUnavailable(
                    f"the audit log {self.path} could not be written ({exc.strerror}): refused",
                    f"审计日志 {self.path} 写入失败：已拒绝请求",
                ) from None
            self._publish_head(added, previous, key, head)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    @staticmethod
    def _chained(lines: list[str], entry: dict, previous: str, key: str | None) -> str:
        body = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        h = _digest(previous, body)
        record = {**entry, "previous": previous, "hash": h}  # entries are plain JSON values: dumped alike
        mac = _entry_mac(h, key)
        if mac is not None:
            record["mac"] = mac
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
        return h

    def _last_hash(self, now: str, key: str | None, head: Path) -> str:
        """The hash of the last whole entry. A torn last line (a write cut short) is moved to a quarantine file
        beside the log, the log cut back to its last whole entry, and the recovery recorded as an entry."""
        start, last = _tail(self.reader)
        if not last:
            return GENESIS
        h = _entry_hash(last)
        if h is not None:
            return h
        size = os.lseek(self.reader, 0, os.SEEK_END)
        torn = os.pread(self.reader, size - start, start)
        quarantine = self.path.with_name(f"{self.path.name}.torn-{now.replace(':', '')}-{os.getpid()}")
        quarantine.write_bytes(torn)
        os.truncate(self.path, start)
        _, before = _tail(self.reader)
        previous = (_entry_hash(before) or GENESIS) if before else GENESIS
        lines: list[str] = []
        previous = self._chained(
            lines,
            {"time": now, "event": "torn_line_quarantined", "bytes": len(torn), "quarantine": quarantine.name},
            previous,
            key,
        )
        os.write(self.fd, (lines[0] + "\n").encode())
        self._publish_head(1, previous, key, head)
        return previous

    def _publish_head(self, added: int, last: str, key: str | None, target: Path) -> None:
        """The new head, written over the old one in place, under the log's lock: one write of HEAD_BYTES
        (JSON padded with spaces), which a reader holding the log's shared lock (`verify`) sees whole. Writing a
        temporary file and renaming it over the head, as before, was 15% of a history lookup's time in the
        service. Opened on every write, so a head file removed under the running service comes back."""
        head = _read_head(target)
        if head is None:
            with open(self.path, "rb") as f:
                count = sum(1 for _ in f)
        else:
            count = int(head["entries"]) + added
        text = json.dumps({"entries": count, "hash": last, "mac": _mac(count, last, key)}).ljust(HEAD_BYTES)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o640)
        except FileNotFoundError:  # the head's folder (on another volume, say) not made yet
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o640)
        try:
            if os.pwrite(fd, text.encode(), 0) != len(text):
                raise OSError(28, "short write")
        finally:
            os.close(fd)

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
    with open(path, "rb") as log:  # the head read whole: a writer publishes it holding the log's lock
        fcntl.flock(log.fileno(), fcntl.LOCK_SH)
        try:
            head = _read_head(head_path(Path(path)))
        finally:
            fcntl.flock(log.fileno(), fcntl.LOCK_UN)
    wanted = int(head["entries"]) if head is not None else -1
    at_head = GENESIS if wanted == 0 else None
    keyed = False
    key = settings().audit_key
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            try:
                record = json.loads(line)
                claimed_prev, claimed, mac = record.pop("previous"), record.pop("hash"), record.pop("mac", None)
            except (json.JSONDecodeError, KeyError, AttributeError):
                raise AuditError(f"{path}, line {n}: not an audit entry", f"{path} 第 {n} 行不是审计记录") from None
            keyed = keyed or mac is not None  # entries written before the key was set carry none
            if keyed and not hmac.compare_digest(str(mac), _entry_mac(str(claimed), key) or ""):
                raise AuditError(
                    f"{path}, line {n}: the entry's signature does not match (recomputed without the key, or "
                    "another key)",
                    f"{path} 第 {n} 行：记录签名不符（未持密钥重算或密钥不同）",
                )
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
        if key and not hmac.compare_digest(str(head.get("mac")), _mac(entries, last, key) or ""):
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
