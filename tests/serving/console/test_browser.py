"""The web console in a real browser: Debian's Chromium, headless, driven by Playwright, against the real server
(`live`: `creditgrade serve`, two workers, the graded test city with three published months).

Each role logs in; an enterprise is found by USCC and by a Chinese name prefix (and a mistyped name); its grade,
reasons, override and history chart are read off the page; the credit report is printed to PDF and the PDF
download read back; an objection is filed and upheld and the new grade shown; a plan is previewed, committed,
drawn, downloaded and verified; the language is switched and back; pages are opened with the wrong role; every
form is given bad input. Screenshots of every page in both languages are written to build/console-screenshots
(the README's come from there, `make screenshots`), and axe-core reports no serious or critical violation.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyarrow.parquet as pq
import pytest

from creditgrade.features.contract import TABLES
from creditgrade.features.corrections import NOT_RECORDS
from creditgrade.serving.console import messages

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("CREDITGRADE_SCREENSHOTS", Path(__file__).parents[3] / "build" / "console-screenshots"))
T = {lang: messages.translator(lang) for lang in messages.LANGS}
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (`make browser` installs it with apt-get, as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def city(live):
    """The enterprises the tests look at, read from the last published month (not written in the test)."""
    graded = pq.read_table(live.monthly / "months" / str(live.months[-1]) / "graded" / "graded.parquet").to_pandas()
    active = graded[graded.register_status == "active"]
    moved = active[(active.override_effect == "down2") & (active.grade_shenzhen != active.grade_shenzhen_by_score)]
    one_key = [t.name for t in TABLES if len(t.key) == 1 and t.name not in NOT_RECORDS]  # records an objection names
    moved = moved[moved.override_source.str.split(":").str[0].isin(one_key)]
    assert len(moved) >= 2, "the test city should have enterprises moved down by a record's override"
    plain = active[active.override_rule.isna()].sort_values("uscc")
    return {"moved": moved.sort_values("uscc").iloc[0], "objected": moved.sort_values("uscc").iloc[1],
            "plain": plain.iloc[0], "graded": graded}  # fmt: skip


def signed_in(browser, live, role: str, lang: str = "zh"):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    if lang != "zh":
        context.add_cookies([{"name": "cg_lang", "value": lang, "url": live.base}])
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    page.goto(f"{live.base}/console/")
    assert page.url.startswith(f"{live.base}/console/login")
    page.fill("#key", live.keys[role])
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{live.base}/console/")
    return page


def error_text(page) -> str:
    return page.locator(".error").first.inner_text()


def test_each_role_logs_in_sees_its_pages_and_logs_out(browser, live):
    expected = {"regulator": {"enterprise", "warnings", "objections", "month"},
                "planner": {"enterprise", "warnings", "objections", "month", "planner"},
                "admin": {"enterprise", "warnings", "objections", "month", "planner", "model"}}  # fmt: skip
    for role, pages in expected.items():
        page = signed_in(browser, live, role)
        links = page.locator("nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert {h.rsplit("/", 1)[-1] for h in links} == pages
        cookie = next(c for c in page.context.cookies() if c["name"] == "cg_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0
        page.click("#logout")
        page.wait_for_url(re.compile(r".*/console/login$"))
        again = browser.new_context()
        again.add_cookies([{**cookie}])  # the logged-out session's cookie, replayed: sent back to the login page
        replay = again.new_page()
        replay.goto(f"{live.base}/console/enterprise")
        assert "/console/login" in replay.url
        again.close()
        page.context.close()


def test_a_wrong_key_and_a_forged_form_are_refused(browser, live):
    page = browser.new_page()
    page.goto(f"{live.base}/console/login")
    page.fill("#key", "not-a-key")
    page.click("#login-form button[type=submit]")
    assert error_text(page) == T["zh"]("login.wrong")
    page.close()
    page = signed_in(browser, live, "regulator")
    page.goto(f"{live.base}/console/objections")
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged')")
    page.evaluate("document.querySelector('#logout').click()")
    page.wait_for_load_state()
    assert page.locator("#refused").inner_text() == T["zh"]("refused.form")
    page.context.close()


def searched(page, q: str) -> None:
    """Wait until the page shown is the results of searching `q`, loaded: a click starts the navigation but does
    not wait for it, and `count()` does not wait (a count taken on the page before read 0 hits)."""
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("q") == [q])
    page.wait_for_load_state()


def test_find_an_enterprise_by_uscc_and_by_chinese_name(browser, live, city):
    moved = city["moved"]
    page = signed_in(browser, live, "regulator")
    page.goto(f"{live.base}/console/enterprise")
    page.fill("#q", moved.uscc.lower())
    page.click("#search-form button")
    page.wait_for_url(f"{live.base}/console/enterprise/{moved.uscc}")
    assert page.locator("#name").inner_text() == moved["name"]
    assert page.locator("#grade").inner_text() == moved.grade_shenzhen
    assert page.locator("#score").inner_text() == f"{moved.score:,.1f}"
    assert page.locator("#reasons > li").count() == 5
    assert moved.override_source in page.locator("#override").inner_text()
    months = page.locator("#history-chart svg circle").count()
    assert months == len(live.months) and page.locator("#history tbody tr").count() == len(live.months)
    assert page.locator("#dimension-chart svg rect").count() == 5
    assert page.locator(".records li").count() >= 1  # the records behind at least one reason
    assert page.locator("#recourse-heading").inner_text() == T["zh"]("recourse.title")
    offered = page.locator("#recourse-actions tbody tr").count()
    assert offered or page.locator("#recourse-none").inner_text().startswith("按现行规则")  # actions, or why none
    page.select_option("#scheme", "national")
    page.click("#scheme-form button")
    assert page.locator("#grade").inner_text() == moved.grade_national

    bare = moved["name"].removeprefix("深圳市")
    page.goto(f"{live.base}/console/enterprise")
    page.fill("#q", bare[:3])
    page.click("#search-form button")
    searched(page, bare[:3])
    hits = page.locator("#hits tbody tr")
    assert hits.count() >= 1
    assert all(
        r.startswith("深圳市" + bare[:3]) for r in page.locator("#hits tbody td:first-child").all_inner_texts()[:1]
    )
    typo = bare[:2] + ("甲" if bare[2] != "甲" else "乙") + bare[3:]  # one character wrong: found by similarity
    page.fill("#q", typo)
    page.click("#search-form button")
    searched(page, typo)
    assert moved["name"] in page.locator("#hits").inner_text()
    page.context.close()


def test_the_credit_report_prints_to_pdf_and_downloads_as_pdf(browser, live, city, tmp_path):
    from pypdf import PdfReader

    moved = city["moved"]
    page = signed_in(browser, live, "regulator")
    page.goto(f"{live.base}/console/enterprise/{moved.uscc}/report")
    page.emulate_media(media="print")
    printed = tmp_path / "printed.pdf"
    page.pdf(path=str(printed), format="A4", print_background=True)
    reader = PdfReader(printed)
    assert len(reader.pages) == 1, "the printable report is one A4 page"
    text = reader.pages[0].extract_text()
    for expected in (
        T["zh"]("report.title"),
        moved.uscc,
        moved["name"],
        T["zh"]("enterprise.reasons"),
        T["zh"]("recourse.title"),
    ):
        assert expected in text
    page.goto(f"{live.base}/console/enterprise/{moved.uscc}")
    with page.expect_download() as download:
        page.click("#pdf-link")
    pdf = PdfReader(download.value.path())
    assert len(pdf.pages) == 1
    text = pdf.pages[0].extract_text()
    assert moved.uscc in text and moved["name"] in text and T["zh"]("report.title") in text
    assert f"{moved.score:.1f}" in text and moved.override_source in text.replace("\n", "")
    assert T["zh"]("recourse.title") in text
    page.context.close()


def test_file_and_uphold_an_objection_and_see_the_new_grade(browser, live, city):
    o = city["objected"]
    record = o.override_source.split("@")[0]
    page = signed_in(browser, live, "regulator")
    page.goto(f"{live.base}/console/enterprise/{o.uscc}")
    before = page.locator("#grade").inner_text()
    page.fill("#record_other", record)
    page.fill("#claim", "列入错误：该记录属于另一家企业")
    page.click("#objection-form button[type=submit]")
    page.wait_for_selector("#filed")
    oid = re.search(r"[A-Z]+-[0-9-]+", page.locator("#filed").inner_text()).group(0)
    form = page.locator(f"#decide-{oid}")
    form.locator("input[name=reason]").fill("列入部门已确认错误")
    form.locator("input[value=uphold]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#regraded")
    assert page.locator("#grade-before").inner_text() == before
    after = page.locator("#grade-after").inner_text()
    assert after != before, "lifting the override's record must change the grade"
    page.click("#back-to-enterprise")
    assert page.locator("#grade").inner_text() == after
    assert oid in page.locator("#disputes").inner_text()
    page.goto(f"{live.base}/console/objections?status=upheld")
    assert oid in page.locator("#objections").inner_text()
    page.context.close()


def test_preview_commit_draw_download_and_verify_a_plan(browser, live, tmp_path):
    page = signed_in(browser, live, "planner")
    page.goto(f"{live.base}/console/planner")
    page.fill("#plan_id", "browser-plan")
    page.fill("#budget", "5")
    page.click("#preview")
    page.wait_for_selector("#plan-preview")
    assert page.locator("#plan-chart svg rect").count() > 4
    commitment = page.locator("#commitment").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", commitment)
    page.fill("#seed", "browser lottery 3 14 15")
    page.click("#draw")
    assert error_text(page) == T["zh"]("error.not_committed")  # no draw before the commitment is published
    page.click("#commit")
    page.wait_for_selector("#committed")
    assert page.locator("#commitment").inner_text() == commitment
    page.click("#draw")
    page.wait_for_selector("#plan-drawn")
    drawn = int(re.search(r"\d+", page.locator("#drawn-heading").inner_text()).group(0))
    with page.expect_download() as download:
        page.click("#download-csv")
    listed = tmp_path / "list.csv"
    download.value.save_as(listed)
    rows = list(csv.DictReader(io.StringIO(listed.read_text(encoding="utf-8"))))
    assert len(rows) == drawn > 0 and {r["plan_id"] for r in rows} == {"browser-plan"}
    with page.expect_download() as download:
        page.click("#download-parquet")
    assert pq.read_table(download.value.path()).num_rows == drawn

    page.set_input_files("#published", str(listed))
    page.click("#verify")
    page.wait_for_selector("#plan-verified")
    assert page.locator("#verify-result").inner_text() == T["zh"]("planner.same")
    tampered = tmp_path / "tampered.csv"
    lines = listed.read_text(encoding="utf-8").splitlines()
    tampered.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # one enterprise left off the list
    page.set_input_files("#published", str(tampered))
    page.click("#verify")
    page.wait_for_selector("#plan-verified")
    assert page.locator("#verify-result").inner_text() == T["zh"]("planner.differs", n=1)
    page.context.close()


def test_switch_to_english_and_back(browser, live, city):
    page = signed_in(browser, live, "regulator")
    page.goto(f"{live.base}/console/enterprise/{city['plain'].uscc}")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#reasons-heading").inner_text() == T["zh"]("enterprise.reasons")
    page.click("#switch-language")
    page.wait_for_url(f"{live.base}/console/enterprise/{city['plain'].uscc}")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#reasons-heading").inner_text() == T["en"]("enterprise.reasons")
    assert not re.search(r"[\u4e00-\u9fff]", page.locator("nav").inner_text())
    page.click("#switch-language")
    assert page.locator("#reasons-heading").inner_text() == T["zh"]("enterprise.reasons")
    page.context.close()


def test_a_page_above_the_role_is_refused_with_a_page(browser, live):
    for role, path, needed in (("regulator", "planner", "planner"), ("planner", "model", "admin"),
                               ("regulator", "model", "admin")):  # fmt: skip
        page = signed_in(browser, live, role)
        response = page.goto(f"{live.base}/console/{path}")
        assert response.status == 403
        assert page.locator("#refused").inner_text() == T["zh"](
            "refused.role", role=role, needed=T["zh"](f"role.{needed}")
        )
        assert "Traceback" not in page.content()
        page.context.close()


def test_bad_input_in_every_form_gets_a_clear_message(browser, live, city):
    t = T["zh"]
    page = signed_in(browser, live, "admin")
    checks = []

    def search(q: str) -> str:
        page.goto(f"{live.base}/console/enterprise")
        page.fill("#q", q)
        page.click("#search-form button")
        return error_text(page)

    bad = city["plain"].uscc[:-1] + ("0" if city["plain"].uscc[-1] != "0" else "1")
    checks.append((search(bad), "校验码不符"))
    checks.append((search("91440300ABC"), "长度须为18位"))

    def plan(**fields) -> str:
        page.goto(f"{live.base}/console/planner")
        for name, value in fields.items():
            if name == "mode":
                page.check(f"#mode-{value}")
            else:
                page.fill(f"#{name}", value)
        page.click("#preview")
        return error_text(page)

    checks.append((plan(mode="ratios", ratios="A+ 1, A 2, B 150, C 6, D 10, E 20"),
                   t("error.percent", field=t("planner.ratio_of", grade="B"), value="150")))  # fmt: skip
    checks.append((plan(budget=""), t("error.empty", field=t("planner.budget"))))
    checks.append((plan(mode="ratios", ratios="A+ 1, F 5"),
                   t("error.grade", grade="F", scheme="shenzhen", known="A+, A, B, C, D, E")))  # fmt: skip
    checks.append((plan(budget="abc"), t("error.number", field=t("planner.budget"), value="abc")))
    checks.append((plan(floor="-1"), t("error.percent", field=t("planner.floor"), value="-1")))

    page.goto(f"{live.base}/console/enterprise/{city['plain'].uscc}")
    page.click("#objection-form button[type=submit]")
    checks.append((error_text(page), t("error.record_empty")))
    page.fill("#record_other", "penalties")
    page.fill("#claim", "x")
    page.click("#objection-form button[type=submit]")
    checks.append((error_text(page), "表名:记录编号"))
    page.fill("#record_other", "penalties:NO-SUCH-RECORD")
    page.fill("#claim", "x")
    page.click("#objection-form button[type=submit]")
    checks.append((error_text(page), "NO-SUCH-RECORD"))

    page.goto(f"{live.base}/console/enterprise/{city['plain'].uscc}?scheme=seven-tier")
    checks.append(
        (error_text(page), t("error.scheme", name="seven-tier", known="shenzhen, shenzhen_fixed, pingshan, national"))
    )
    page.goto(f"{live.base}/console/month?as_of=2020-01-31")
    checks.append((error_text(page), "2020-01-31"))
    page.goto(f"{live.base}/console/warnings?as_of=31/12/2025")
    checks.append((error_text(page), t("error.date", value="31/12/2025")))
    page.goto(f"{live.base}/console/model")
    page.click("#promote-form button[type=submit]")
    checks.append((error_text(page), t("error.confirm")))
    page.check("#confirm-rollback")
    page.click("#rollback-form button[type=submit]")
    checks.append((error_text(page), "没有可回退的上一任冠军模型"))

    for shown, expected in checks:
        assert expected in shown, (shown, expected)
    assert "Traceback" not in page.content()
    page.context.close()


def test_an_open_objection_is_decided_only_with_a_choice_and_a_reason(browser, live, city):
    page = signed_in(browser, live, "regulator")
    moved = city["moved"]
    page.goto(f"{live.base}/console/enterprise/{moved.uscc}")
    page.fill("#record_other", moved.override_source.split("@")[0])
    page.fill("#claim", "待核实")
    page.click("#objection-form button[type=submit]")
    oid = re.search(r"[A-Z]+-[0-9-]+", page.locator("#filed").inner_text()).group(0)
    page.locator(f"#decide-{oid} button[type=submit]").click()
    assert page.locator("#refused").inner_text() == T["zh"]("error.decision")
    page.goto(f"{live.base}/console/enterprise/{moved.uscc}")
    page.locator(f"#decide-{oid} input[value=reject]").check()
    page.locator(f"#decide-{oid} button[type=submit]").click()
    assert page.locator("#refused").inner_text() == T["zh"]("error.reason_empty")
    page.goto(f"{live.base}/console/enterprise/{moved.uscc}")
    page.locator(f"#decide-{oid} input[name=reason]").fill("证据不足")
    page.locator(f"#decide-{oid} input[value=reject]").check()
    page.locator(f"#decide-{oid} button[type=submit]").click()
    assert page.locator("#decision").inner_text() == T["zh"]("decided.what", id=oid, status=T["zh"]("ostatus.rejected"))
    assert page.locator("#regraded").count() == 0  # a rejection regrades nothing
    page.context.close()


PAGES = ("login", "home", "search", "enterprise", "report", "warnings", "objections", "planner", "month", "model")


def person_ids(raw: Path) -> set[str]:
    """Every value of a column the contract marks as a person identifier (legal representatives, phones,
    natural-person shareholders)."""
    found: set[str] = set()
    for table in TABLES:
        columns = [c.name for c in table.columns if c.person_identifier]
        path = raw / f"{table.name}.parquet"
        if columns and path.exists():
            for column in pq.read_table(path, columns=columns).columns:
                found |= {v for v in column.to_pylist() if v and not re.fullmatch(r"[0-9A-Z]{18}", v)}
    return found


def test_screenshots_of_every_page_in_both_languages_and_no_serious_accessibility_violation(
    browser, live, city, graded_city
):
    from axe_playwright_python.sync_playwright import Axe

    persons = person_ids(graded_city.raw)
    assert len(persons) > 1000
    shown: list[str] = []

    axe = Axe()
    uscc = city["moved"].uscc
    name = city["moved"]["name"].removeprefix("深圳市")[:2]
    paths = {
        "home": "/console/",
        "search": f"/console/enterprise?q={name}",
        "enterprise": f"/console/enterprise/{uscc}",
        "report": f"/console/enterprise/{uscc}/report",
        "warnings": "/console/warnings",
        "objections": "/console/objections",
        "planner": "/console/planner",
        "month": "/console/month",
        "model": "/console/model",
    }
    problems = []
    for lang in messages.LANGS:
        folder = ARTIFACTS / lang
        folder.mkdir(parents=True, exist_ok=True)
        anonymous = browser.new_context(viewport={"width": 1280, "height": 900})
        anonymous.add_cookies([{"name": "cg_lang", "value": lang, "url": live.base}])
        login = anonymous.new_page()
        login.goto(f"{live.base}/console/login")
        shots = {"login": login}
        page = signed_in(browser, live, "admin", lang)
        for key, path in paths.items():
            response = page.goto(f"{live.base}{path}")
            assert response.status == 200, (lang, key)
            if key == "planner":
                page.click("#preview")
                page.wait_for_selector("#plan-preview")
            if key == "month":  # equal treatment: every district's row, from the month's report
                assert page.locator("#equal-treatment tbody tr").count() >= 9
            if key == "model":  # the champion's calibration per group on its test period
                assert page.locator("table[id^=equal-treatment-] tbody tr").count() >= 9
            shots[key] = page
            shown.append(page.content())
            _check(axe, page, lang, key, problems)
            page.screenshot(path=str(folder / f"{key}.png"), full_page=True)
        _check(axe, login, lang, "login", problems)
        login.screenshot(path=str(folder / "login.png"), full_page=True)
        assert sorted(p.name for p in folder.glob("*.png")) == sorted(f"{k}.png" for k in PAGES)
        anonymous.close()
        page.context.close()
    assert problems == []
    words = set(re.findall(r"[0-9A-Za-z_-]{5,}", "\n".join(shown)))
    assert not words & persons, sorted(words & persons)[:5]  # no person identifier on any page


def _check(axe, page, lang: str, key: str, problems: list) -> None:
    result = axe.run(page)
    for v in result.response["violations"]:
        if v["impact"] in SERIOUS:
            problems.append((lang, key, v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]))
