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
# `make hub`: JupyterHub and its parts (never installed by `make lab`); the proxy from npm into deploy/.build/.
HUB_STAMP := $(VENV)/.hub-installed
CHP       := deploy/.build/node/node_modules/.bin/configurable-http-proxy
HUB_PORT  ?= 8000
ROSTER    ?= deploy/roster.csv
INSTRUCTOR_ID ?= instructor

.PHONY: help setup lab workspace test test-fast lint grade browser-deps hub hub-deps hub-stop clean

help:
	@echo "make lab    set everything up and open the course in JupyterLab"
	@echo "make test   set everything up and run the whole test suite"
	@echo "make grade  (instructors) autograde submitted/ and export grades.csv"
	@echo "make hub    (instructors, as root) set up and start a JupyterHub for a class (roster: ROSTER=...)"

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
	$(PY) scripts/lab.py --port $(PORT) $(if $(INSTRUCTOR),--instructor,)

test: setup browser-deps hub-deps
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow and not browser"

lint: setup
	$(VENV)/bin/ruff check course_lib tests benchmarks scripts grading deploy

browser-deps: setup
	@$(PY) scripts/browser_deps.py

grade: setup
	$(PY) grading/grade.py $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT),)

# The hub's own packages go into the course venv only here (deploy/requirements-hub.txt), the proxy under deploy/.build.
$(HUB_STAMP): deploy/requirements-hub.txt $(STAMP)
	$(PY) -m pip install --quiet -r deploy/requirements-hub.txt
	@touch $(HUB_STAMP)

$(CHP): deploy/package.json
	@command -v npm >/dev/null 2>&1 || { echo "ERROR: make hub needs Node.js and npm (apt-get install nodejs npm)"; exit 1; }
	mkdir -p deploy/.build/node && cp deploy/package.json deploy/.build/node/package.json
	cd deploy/.build/node && npm install --no-audit --no-fund --loglevel=error
	@touch $(CHP)

hub-deps: $(HUB_STAMP) $(CHP)

hub: hub-deps
	$(PY) deploy/hub.py setup --roster $(ROSTER) --instructor $(INSTRUCTOR_ID)
	$(PY) deploy/hub.py start --port $(HUB_PORT)

hub-stop: setup
	$(PY) deploy/hub.py teardown

clean:
	rm -rf .build test-artifacts .pytest_cache
