# The two set-up commands a new user runs (see README):
#   make demo   — simulate a small city end to end and print what it produced
#   make test   — the test suite
# Both create .venv and install the pinned dependencies (requirements.lock) when needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_ENTERPRISES ?= 20000
DEMO_DIR ?= data/demo

# LightGBM / OpenMP / BLAS: one thread per core we have (oversubscription ran 15x slower here).
export OMP_NUM_THREADS ?= 2
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: demo test install lock docs notebooks clean-data

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/creditgrade demo --enterprises $(DEMO_ENTERPRISES) --out $(DEMO_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest

# Regenerate the pinned lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra test --extra notebooks --python-version 3.11 -o requirements.lock

# The modellers' notebooks in JupyterLab (kernel: this .venv).
notebooks: $(STAMP)
	$(BIN)/jupyter lab notebooks/

docs: $(STAMP)
	$(BIN)/creditgrade docs

clean-data:
	rm -rf data
