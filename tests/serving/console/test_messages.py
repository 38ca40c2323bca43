"""The console's text catalog: every key in both languages, every key a page or module asks for exists, and
none is left unused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from creditgrade.serving.console import messages

CONSOLE = Path(messages.__file__).parent
LITERAL = re.compile(r"""\bt\(\s*['"]([a-z_.\-]*[a-z_\-])['"]""")  # t('nav.model') / t("error.seed", ...)
PROBLEM = re.compile(r"""problem\(\s*['"]([a-z_.\-]+)['"]""")  # problem("error.seed")
PREFIX = re.compile(r"""\bt\(\s*['"]([a-z_.\-]+\.)['"]\s*(?:~|\+)""")  # t('nav.' ~ page): any key under nav.


def sources() -> str:
    files = [*CONSOLE.glob("*.py"), *CONSOLE.glob("templates/*.html")]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def test_every_key_has_both_languages_with_the_same_placeholders():
    raw = yaml.safe_load(messages.FILE.read_text(encoding="utf-8"))
    assert len(raw) > 100
    for key, texts in raw.items():
        assert set(texts) == {"zh", "en"}, key
        assert texts["zh"].strip() and texts["en"].strip(), key
        assert messages._fields(texts["zh"]) == messages._fields(texts["en"]), key
        assert (
            re.search(r"[\u4e00-\u9fff]", texts["zh"])
            or texts["zh"] == texts["en"]
            or key.startswith(("lang.", "metric."))
        ), f"{key}: the Chinese text has no Chinese in it"
    assert messages.catalog() == raw


def test_every_key_asked_for_exists_and_every_key_is_asked_for():
    text, known = sources(), set(messages.catalog())
    literal = set(LITERAL.findall(text)) | set(PROBLEM.findall(text))
    prefixes = set(PREFIX.findall(text))
    assert literal and prefixes
    assert sorted(literal - known) == []
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in known), f"no key under {prefix}"
    unused = [k for k in known if k not in literal and not any(k.startswith(p) for p in prefixes)]
    assert unused == []


def test_a_catalog_with_a_missing_language_does_not_load(tmp_path, monkeypatch):
    bad = tmp_path / "messages.yaml"
    bad.write_text('a.key:\n  zh: "中文"\n', encoding="utf-8")
    monkeypatch.setattr(messages, "FILE", bad)
    messages.catalog.cache_clear()
    try:
        with pytest.raises(messages.CatalogError, match="a.key"):
            messages.catalog()
        bad.write_text('a.key:\n  zh: "共 {n} 户"\n  en: "{count} enterprises"\n', encoding="utf-8")
        messages.catalog.cache_clear()
        with pytest.raises(messages.CatalogError, match="placeholders"):
            messages.catalog()
    finally:
        monkeypatch.undo()
        messages.catalog.cache_clear()


def test_chinese_is_the_default_language():
    assert messages.language(None) == "zh"
    assert messages.language("fr") == "zh"
    assert messages.translator("en")("nav.model") == "Models"
    assert messages.translator("zh")("who.signed_in", key="k1", role="管理员") == "已登录：k1（管理员）"
