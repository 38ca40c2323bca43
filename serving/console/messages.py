"""The console's words: one catalog (`messages.yaml`), every key in Chinese and English, nothing written twice.

Pages, forms, errors and the PDF report all take their text from here through `translator(lang)`; Chinese is
the default language. A key missing a language, or whose two texts name different `{placeholders}`, stops the
catalog from loading.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable
from pathlib import Path

import yaml

LANGS = ("zh", "en")
DEFAULT = "zh"
FILE = Path(__file__).with_name("messages.yaml")


class CatalogError(ValueError):
    pass


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@functools.cache
def catalog() -> dict[str, dict[str, str]]:
    raw = yaml.safe_load(FILE.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise CatalogError(f"{FILE} must map message keys to {{zh, en}}")
    for key, texts in raw.items():
        if not isinstance(texts, dict) or set(texts) != set(LANGS):
            raise CatalogError(f"{FILE}: message {key!r} must have exactly the languages {LANGS}; got {texts!r}")
        if any(not isinstance(v, str) or not v.strip() for v in texts.values()):
            raise CatalogError(f"{FILE}: message {key!r} has an empty text")
        if _fields(texts["zh"]) != _fields(texts["en"]):
            raise CatalogError(f"{FILE}: message {key!r} names different placeholders in zh and en")
    return raw


def language(asked: str | None) -> str:
    return asked if asked in LANGS else DEFAULT


def translator(lang: str) -> Callable[..., str]:
    """`t(key, **values)`: the key's text in `lang` with its placeholders filled."""
    texts = catalog()

    def t(key: str, /, **values) -> str:
        text = texts[key][lang]
        return text.format(**values) if values else text

    return t
