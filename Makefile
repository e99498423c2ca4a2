# Two commands do all the set-up: `make run` starts the bot (sandbox mode without BOT_TOKEN),
# `make test` runs every test. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCALES := locales
DOMAIN := messages
# Test processes (pytest-xdist): one per core, at most 4; `make test WORKERS=0` runs in one.
WORKERS ?= auto

.PHONY: run test lint format locales extract update-locales clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

locales: $(STAMP)
	$(PY) -m babel.messages.frontend compile -d $(LOCALES) -D $(DOMAIN) --statistics

run: $(STAMP) locales
	$(PY) main.py

test: $(STAMP) locales
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -n $(WORKERS) --maxprocesses 4 --dist worksteal

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# extract -> update -> (translate) -> compile
extract: $(STAMP)
	$(PY) -m babel.messages.frontend extract -F babel.cfg -k _ -k __ -k N_ -k lazy_gettext \
		--no-location --sort-output --width 100 -o $(LOCALES)/$(DOMAIN).pot .

update-locales: extract
	$(PY) -m babel.messages.frontend update -i $(LOCALES)/$(DOMAIN).pot -d $(LOCALES) -D $(DOMAIN) --width 100 \
		--no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) var
