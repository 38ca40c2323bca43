"""The worked examples in the package's docstrings run as tests (doctest), imported as a user imports
them: through the installed `creditgrade` package, not from the checkout's folders."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

LAYERS = ("features", "models", "training", "serving")


def modules_with_examples() -> list[str]:
    """Every creditgrade module whose source holds a `>>>` example (found without importing the rest)."""
    names = []
    for layer in LAYERS:
        package = importlib.import_module(f"creditgrade.{layer}")
        names += _walk(package)
    return sorted(names)


def _walk(package) -> list[str]:
    names = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        spec = importlib.util.find_spec(info.name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        if ">>>" in Path(spec.origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return names


MODULES = modules_with_examples()


def test_examples_are_found():
    assert "creditgrade.models.grades" in MODULES and "creditgrade.models.scaling" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name}: no example ran"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (see output above)"
