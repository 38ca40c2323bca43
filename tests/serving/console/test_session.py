"""Console sessions: signed, expiring, ended at logout; the CSRF token; where a login may send the browser."""

from __future__ import annotations

import base64
import os
import stat
import time

from creditgrade.serving.auth import ApiKey
from creditgrade.serving.console.app import safe_next
from creditgrade.serving.console.session import Sessions, shared_secret


def test_a_session_reads_back_until_it_ends_or_expires(tmp_path, monkeypatch):
    sessions = Sessions(tmp_path, minutes=1)
    cookie, s = sessions.start(ApiKey("k1", "planner"))
    back = sessions.read(cookie)
    assert back is not None and back.key == ApiKey("k1", "planner") and back.csrf == s.csrf
    assert back.checks(s.csrf) and not back.checks("") and not back.checks(s.csrf[:-1] + "x")
    sessions.end(back)
    assert sessions.read(cookie) is None  # logged out: the same cookie no longer works, in any worker
    cookie, _ = sessions.start(ApiKey("k1", "planner"))
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert sessions.read(cookie) is None  # expired


def test_a_forged_or_altered_cookie_is_refused(tmp_path):
    sessions = Sessions(tmp_path, minutes=5)
    cookie, _ = sessions.start(ApiKey("k1", "regulator"))
    payload, stamp, signature = cookie.split(".")
    assert sessions.read(f"{payload}.{stamp}.AAAA") is None
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    raised = base64.urlsafe_b64encode(raw.replace(b"regulator", b"admin")).rstrip(b"=").decode()
    assert raw != raw.replace(b"regulator", b"admin")
    assert sessions.read(f"{raised}.{stamp}.{signature}") is None  # a role raised in the cookie: refused
    other = Sessions(tmp_path / "elsewhere", minutes=5)  # another secret
    assert other.read(cookie) is None
    assert sessions.read("") is None and sessions.read("garbage") is None


def test_the_secret_is_shared_and_private(tmp_path):
    first = shared_secret(tmp_path)
    assert shared_secret(tmp_path) == first and len(first) == 64
    assert stat.S_IMODE(os.stat(tmp_path / "secret").st_mode) == 0o600


def test_the_login_form_token_is_double_submitted(tmp_path):
    sessions = Sessions(tmp_path, minutes=5)
    cookie, token = sessions.login_token()
    assert sessions.login_checks(cookie, token)
    assert not sessions.login_checks(cookie, token + "x")
    assert not sessions.login_checks(None, token) and not sessions.login_checks(cookie, None)
    _, other = sessions.login_token()
    assert not sessions.login_checks(cookie, other)


def test_after_login_the_browser_goes_to_a_console_page_only():
    assert safe_next("/console/planner") == "/console/planner"
    assert safe_next("/console/enterprise?q=%E5%89%8D") == "/console/enterprise?q=%E5%89%8D"
    for elsewhere in ("https://evil.example/console", "//evil.example/console", "/v1/reload", None, "",
                      "/console\\..\\x"):  # fmt: skip
        assert safe_next(elsewhere) == "/console/"
