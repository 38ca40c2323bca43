# The two set-up commands a new user runs (see README):
#   make demo   — simulate a small city end to end and print what it produced
#   make test   — lint, formatting, import layers, types, then the whole test suite
# Both create .venv and install the pinned dependencies (requirements.lock) when needed.
#   make test-fast — the tests not marked slow (no simulated city, no Spark, no server): under two minutes

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_ENTERPRISES ?= 20000
DEMO_DIR ?= data/demo
# mypy reads the packages through links named as they are imported (creditgrade.models, ...): it cannot
# follow the editable install's import hook.
TYPES  := build/typecheck

# LightGBM / OpenMP / BLAS: one thread per core we have (oversubscription ran 15x slower here).
export OMP_NUM_THREADS ?= 2
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: fonts postgres browser java screenshots demo test test-fast bench lint typecheck install lock docs notebooks clean-data

install: $(STAMP)

# Every download is checked against the SHA-256 in the locks (--require-hashes): the installer's own too.
# Everything is compiled to bytecode here: where PYTHONDONTWRITEBYTECODE is set (as on our machines) Python never
# writes it, and every process compiled its imports anew (a service took 58 s to start instead of 20).
$(STAMP): requirements.lock requirements-uv.lock pyproject.toml
	fc-list :lang=zh 2>/dev/null | grep -q . || $(MAKE) --no-print-directory fonts
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-uv.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode --require-hashes -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 features models training serving
	touch $(STAMP)

# A font with Chinese glyphs for the Chinese plots (Debian's WenQuanYi Micro Hei, 4 MB); apt-get needs root.
fonts:
	apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q fonts-wqy-microhei >/dev/null; } || \
	  { echo "could not install fonts-wqy-microhei: install a Chinese font (fc-list :lang=zh) as root"; exit 1; }

# A PostgreSQL server for the tests of the team's database option (Debian's postgresql; apt-get needs root).
# The tests start a throwaway cluster of their own; without the package they skip and say why.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	  apt-get install -y -q postgresql >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; } || \
	  echo "could not install postgresql: the PostgreSQL tests will be skipped"

# A Java runtime for the month-end run on Spark (`month --engine spark`; its tests run Spark in local mode):
# Debian's OpenJDK 17, which PySpark 4.0 supports; apt-get needs root.
java:
	@command -v java >/dev/null || apt-get install -y -q openjdk-17-jre-headless >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q openjdk-17-jre-headless >/dev/null; } || \
	  echo "could not install openjdk-17-jre-headless: the Spark tests will be skipped"

# Debian's Chromium and its driver for the web console's browser tests (Playwright drives the system browser:
# a browser download at install time is not possible here); apt-get needs root.
browser:
	@command -v chromium >/dev/null || apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; } || \
	  echo "could not install chromium: the console's browser tests will be skipped"

# The README's console screenshots: the browser test writes every page in both languages to build/, and the
# Chinese ones are copied to docs/console/ as small palette PNGs.
screenshots: $(STAMP) browser
	$(BIN)/pytest tests/serving/console/test_browser.py -k screenshots
	$(BIN)/python tests/serving/console/shrink.py build/console-screenshots/zh docs/console

demo: $(STAMP)
	$(BIN)/creditgrade demo --enterprises $(DEMO_ENTERPRISES) --out $(DEMO_DIR)

# The test files run on one worker per core (pytest-xdist); each worker's LightGBM/numba threads get its share.
TEST_WORKERS ?= 2

test: lint postgres browser java
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# Every benchmark at one scale, side by side; writes docs/benchmarks.md and docs/benchmarks.json (about 35 min at
# the default 100,000 enterprises with its ten-minute soak, before the Spark and service-memory steps were added;
# the latter serves a synthesised 10 M city: ≈ 15 GB of disk under data/. BENCH_ENTERPRISES=2230000: the full city).
BENCH_ENTERPRISES ?= 100000
bench: $(STAMP)
	$(BIN)/python benchmarks/suite.py --enterprises $(BENCH_ENTERPRISES)

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

lint: $(STAMP) typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	rm -rf $(TYPES) && mkdir -p $(TYPES)/creditgrade
	for layer in features models training serving; do ln -s $(CURDIR)/$$layer $(TYPES)/creditgrade/$$layer; done
	cd $(TYPES) && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p creditgrade.models \
		-m creditgrade.features.catalog -m creditgrade.features.errors -m creditgrade.features.settings

# Regenerate the pinned lock (with every file's SHA-256) after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra test --extra notebooks --extra spark --extra bench --python-version 3.11 --generate-hashes \
		-o requirements.lock

# The modellers' notebooks in JupyterLab (kernel: this .venv).
notebooks: $(STAMP)
	$(BIN)/jupyter lab notebooks/

docs: $(STAMP)
	$(BIN)/creditgrade docs

clean-data:
	rm -rf data
