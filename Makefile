# The course's two commands: `make lab` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The first Python >= 3.11 on PATH (nbgrader 0.9.6 needs 3.11). Override with `make PYTHON=/path/to/python3.12 ...`.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
            command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
            && { command -v $$p; break; }; done)
PORT   ?= 8888

.PHONY: help setup lab workspace test test-fast lint grade browser-deps clean

help:
	@echo "make lab    set everything up and open the course in JupyterLab"
	@echo "make test   set everything up and run the whole test suite"
	@echo "make grade  (instructors) autograde submitted/ and export grades.csv"

$(STAMP): requirements.txt pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "ERROR: this course needs Python 3.11 or newer (nbgrader 0.9.6 requires it)."; \
	  echo "       Install one (e.g. python3.12) and re-run, or pass PYTHON=/path/to/python3.11."; exit 1; fi
	@echo ">> creating $(VENV) with $(PYTHON)"
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

setup: $(STAMP)

workspace: setup
	$(PY) scripts/workspace.py

lab: workspace
	$(PY) scripts/lab.py --port $(PORT)

test: setup browser-deps
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow and not browser"

lint: setup
	$(VENV)/bin/ruff check course_lib tests benchmarks scripts grading

browser-deps: setup
	@$(PY) scripts/browser_deps.py

grade: setup
	$(PY) grading/grade.py $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT),)

clean:
	rm -rf .build test-artifacts .pytest_cache
