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

.PHONY: setup course test unit lint notebooks figures clean colab-env test-colab test-classic

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

# Colab's package versions (colab/constraints.txt) in a second env, for tests/test_colab.py.
# torch is the local CPU build (never a CUDA download); scripts/colab.py says what it swaps.
COLAB_ENV := build/colab-env
COLAB_PY := $(COLAB_ENV)/bin/python
COLAB_STAMP := $(COLAB_ENV)/.installed
COLAB_WHEELS := build/colab-wheels

colab-env: $(COLAB_STAMP)

$(COLAB_STAMP): colab/constraints.txt pyproject.toml scripts/colab.py scripts/install_torch.py
	rm -rf $(COLAB_ENV) $(COLAB_WHEELS) build/classic-jupyter
	$(PYTHON) -m venv $(COLAB_ENV)
	$(COLAB_PY) scripts/install_torch.py
	$(COLAB_PY) scripts/colab.py constraints > $(COLAB_ENV)/constraints.txt
	$(COLAB_PY) -m pip install -q -c $(COLAB_ENV)/constraints.txt \
	  $$(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' $(COLAB_ENV)/constraints.txt)
	$(COLAB_PY) scripts/colab.py check-env
	$(COLAB_PY) -m pip list --format=freeze > $(COLAB_ENV)/colab-freeze.txt
	# The course, as Colab's install cell puts it there.
	$(COLAB_PY) -m pip install -q -c $(COLAB_ENV)/constraints.txt -e .
	$(COLAB_PY) scripts/colab.py check-env
	# Its kernel, for nbval in .venv (ANNOTATED_NOTEBOOK_KERNEL=colab; see conftest.py).
	PYDEVD_DISABLE_FILE_VALIDATION=1 $(COLAB_PY) -m ipykernel install --sys-prefix \
	  --name annotated-colab \
	  --display-name "Python 3 (Colab's versions)" >/dev/null
	# Newer releases of the course's dependencies (torch aside), and what building it and
	# docopt (an sdist) takes, for the offline dry-run and install-cell tests.
	$(COLAB_PY) -m pip download -q -d $(COLAB_WHEELS) "setuptools>=69" wheel \
	  $$($(COLAB_PY) scripts/colab.py requirements)
	# A front end for the 7.x widget protocol (tests/test_browser_classic.py): the classic
	# Notebook above, with widgetsnbextension 3.6.1's bundle (3.6.10's cannot render Output).
	$(COLAB_PY) -m pip download -q --no-deps -d $(COLAB_WHEELS) widgetsnbextension==3.6.1
	rm -rf build/classic-jupyter && $(COLAB_PY) -c "import sys, zipfile; \
	  z = zipfile.ZipFile(sys.argv[1]); p = 'widgetsnbextension-3.6.1.data/data/share/jupyter/'; \
	  [z.extract(n, sys.argv[2]) for n in z.namelist() if n.startswith(p + 'nbextensions/')]" \
	  $(COLAB_WHEELS)/widgetsnbextension-3.6.1-py2.py3-none-any.whl build/classic-jupyter
	mv build/classic-jupyter/widgetsnbextension-3.6.1.data/data/share/jupyter/nbextensions \
	  build/classic-jupyter/ && rm -r build/classic-jupyter/widgetsnbextension-3.6.1.data
	touch $(COLAB_STAMP)

# The Colab checks alone: the constraints, the install cell, and every chapter with its widgets
# in build/colab-env's kernel. .ci/run gets the same from `make test` with these variables.
test-colab: setup colab-env
	ANNOTATED_COLAB_TESTS=1 ANNOTATED_NOTEBOOK_KERNEL=colab $(PY) -m pytest tests/test_colab.py \
	  tests/test_notebooks.py notebooks

# Every chapter in the classic Notebook (the 7.x widget front end) on build/colab-env's
# kernel, driven by Chromium: about 4 minutes idle (11 on shared cores), not part of `make test`.
test-classic: setup colab-env
	ANNOTATED_CLASSIC_TESTS=1 ANNOTATED_BROWSER_TESTS=1 $(PY) -m pytest tests/test_browser_classic.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
