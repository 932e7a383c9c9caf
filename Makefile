# The README's two commands are `make course` and `make test`; both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# JupyterLab refuses to run as root unless told.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# The browser test serves a copy of the notebooks with its own flags through `make course`.
NOTEBOOK_DIR ?= notebooks
LAB_ARGS ?=

.PHONY: setup course test unit lint notebooks figures clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install_torch.py
	$(PYTHON) -m venv $(VENV)
	$(PY) scripts/install_torch.py
	$(PY) -m pip install -q -e ".[course,dev]"
	touch $(STAMP)

course: setup
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 $(ROOT_FLAG) $(LAB_ARGS) $(NOTEBOOK_DIR)

test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# While you work: ruff and the tests in tests/, without the notebooks or the browser (~1 min).
unit: setup
	$(VENV)/bin/ruff check .
	ANNOTATED_BROWSER_TESTS=0 $(PY) -m pytest tests

lint: setup
	$(VENV)/bin/ruff check .

notebooks: setup
	$(PY) scripts/notebooks.py run

figures: setup
	$(PY) -m annotated figures

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
