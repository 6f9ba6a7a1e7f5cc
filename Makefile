# Two commands: `make run` and `make test`. Everything else is here for developers.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STORE  ?= data/city.duckdb
CITY   ?= 330100

.PHONY: run test test-fast e2e bench lint store rebuild clean

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

run: $(VENV)/.installed $(STORE)
	CITYBRAIN_STORE=$(STORE) $(PY) -m streamlit run dashboard/app.py

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
