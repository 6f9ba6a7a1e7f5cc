# Two commands: `make run` and `make test`. Everything else is here for developers.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STORE  ?= data/city.duckdb
CITY   ?= 330100

.PHONY: run notebooks test test-fast e2e bench lint store rebuild clean

$(VENV)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

venv: $(VENV)/.installed

$(STORE): | $(VENV)/.installed
	$(PY) -m analytics build --city $(CITY) --out $(STORE)

store: $(STORE)

rebuild: $(VENV)/.installed
	$(PY) -m analytics build --city $(CITY) --out $(STORE)

# One process serves the dashboard at / and the API under /api/, and owns the store. The API
# answers at once; the dashboard once its landing pages are prepared ("dashboard: ready at").
PORT   ?= 8501
run: $(VENV)/.installed $(STORE)
	@echo "Starting: the API answers at once, the dashboard once its landing pages are prepared."
	$(PY) -m dashboard.server --store $(STORE) --port $(PORT)

# JupyterLab on 127.0.0.1 with the paired notebooks, reading the data the server serves (its
# published snapshot while it runs). No update checks and no news feed: no outside request.
NB_PORT ?= 8888
notebooks: $(VENV)/.installed $(STORE)
	$(PY) -m jupytext --quiet --to notebook --update notebooks/*.py
	CITYBRAIN_STORE=$(abspath $(STORE)) PYTHONPATH=$(CURDIR) $(PY) -m jupyter lab \
	  --ServerApp.ip=127.0.0.1 --ServerApp.port=$(NB_PORT) --ServerApp.root_dir=notebooks \
	  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

test: $(VENV)/.installed
	$(PY) -m pytest

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not e2e and not slow"

e2e: $(VENV)/.installed
	$(PY) -m pytest -m e2e

bench: $(VENV)/.installed $(STORE)
	$(PY) -m bench --store $(STORE)

lint: $(VENV)/.installed
	$(PY) -m ruff check analytics dashboard pages tests bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
