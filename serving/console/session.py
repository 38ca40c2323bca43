"""Console sessions: an API key exchanged once for a signed, expiring cookie; CSRF tokens for every form.

The cookie (`cg_session`, HttpOnly, SameSite=Strict, path /console, Secure behind HTTPS) holds the session id,
the key's id and role, the CSRF token and the time of login, signed with HMAC by `itsdangerous` under a secret
that every worker shares (`<key file folder>/console/secret`, created 0600 once). The key itself is never
stored. A session ends when its time is up (`CREDITGRADE_CONSOLE_MINUTES`), at logout (its id is written to
`console/ended/`, seen by every worker) or when its key is revoked or changes role (checked on each request).

Forms: every POST carries the session's CSRF token (`csrf` field), compared in constant time; the login form,
before there is a session, carries the token of a short-lived pre-login cookie (`cg_login`, double submit).
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from creditgrade.serving.auth import ApiKey

COOKIE = "cg_session"
LOGIN_COOKIE = "cg_login"
LOGIN_SECONDS = 1800  # a login form older than this must be loaded again


@dataclass(frozen=True)
class Session:
    sid: str
    key: ApiKey
    csrf: str
    started: float

    def checks(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, str(token))


def shared_secret(folder: Path) -> bytes:
    """The signing secret every worker reads: created once, readable by its owner only from the first byte;
    when two workers start at once, the one that loses the race reads the winner's."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the winner may not have written it yet
            data = path.read_bytes()
            if len(data) == 64:
                return data
            time.sleep(0.02)
        raise RuntimeError(f"{path} is not a console secret (64 bytes): remove it and start again") from None
    secret = secrets.token_hex(32).encode()
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    return secret


class Sessions:
    def __init__(self, folder: Path, minutes: int):
        self.folder = Path(folder)
        self.seconds = minutes * 60
        self.ended = self.folder / "ended"
        self.ended.mkdir(parents=True, exist_ok=True)
        self._signer = URLSafeTimedSerializer(shared_secret(self.folder), salt="creditgrade-console-session")
        self._login = URLSafeTimedSerializer(shared_secret(self.folder), salt="creditgrade-console-login")

    # -- sessions ----------------------------------------------------------------------------

    def start(self, key: ApiKey) -> tuple[str, Session]:
        """A new session for `key`: the cookie value and the session."""
        session = Session(secrets.token_urlsafe(16), key, secrets.token_urlsafe(24), time.time())
        value = self._signer.dumps([session.sid, key.id, key.role, session.csrf, session.started])
        self._sweep()
        return value, session

    def read(self, cookie: str | None) -> Session | None:
        """The session of a cookie, or None when it is missing, forged, expired or ended."""
        if not cookie:
            return None
        try:
            sid, key_id, role, csrf, started = self._signer.loads(cookie, max_age=self.seconds)
        except (BadSignature, ValueError, TypeError):
            return None
        if (self.ended / sid).exists():
            return None
        return Session(sid, ApiKey(key_id, role), csrf, started)

    def end(self, session: Session) -> None:
        (self.ended / session.sid).touch()

    def _sweep(self) -> None:
        """Forget ended sessions that would have expired anyway."""
        cutoff = time.time() - self.seconds
        for p in self.ended.iterdir():
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
            except FileNotFoundError:
                pass

    # -- the login form's token (before a session) -------------------------------------------

    def login_token(self) -> tuple[str, str]:
        """(cookie value, form token) for a login form."""
        token = secrets.token_urlsafe(24)
        return self._login.dumps(token), token

    def login_checks(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        try:
            expected = self._login.loads(cookie, max_age=LOGIN_SECONDS)
        except BadSignature:
            return False
        return hmac.compare_digest(str(expected), str(token))
