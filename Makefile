# Two commands for a fresh clone: `make demo` (the main job locally) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DAYS ?= 30
BACKEND ?= local

.PHONY: demo test run lint typecheck unit bench clean

# The venv: the pinned packages, then the project itself, editable (no deps), so that
# $(VENV)/bin/tesla-offpeak, the owner's command line, runs this checkout's code.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## demo: one simulated night told as a timeline, then a month summary; writes demo-output/
demo: $(STAMP)
	$(PY) -m simulator.demo --days $(DAYS) --out demo-output

## test: lint, types, then every suite with the Firestore emulator and drongo started and stopped here
test: $(STAMP) lint typecheck
	@$(PY) scripts/test_servers.py start
	@status=0; $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; $(PY) scripts/test_servers.py stop; exit $$status

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy shared worker_service scout_function simulator offpeak_cli

## run: worker (+ embedded scheduler), scout and Tesla simulator as local processes on loopback
run: $(STAMP)
	BACKEND=$(BACKEND) $(PY) -m simulator.run_local

bench: $(STAMP)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .local-state .test-state demo-output .pytest_cache .mypy_cache .ruff_cache
