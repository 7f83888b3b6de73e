# `make run`: set up .venv when missing, then run the baseline scenario with its charts.
# `make test`: set up .venv when missing, then run the fast test suite (about 5 minutes on two cores).
# `make test-all`: everything, the slow tests included (what CI runs; about 10 minutes on two cores).
# The tests run in TEST_WORKERS processes at once (pytest-xdist; TEST_WORKERS=0: in this process alone).
PYTHON ?= python3
TEST_WORKERS ?= 2
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-all bench clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -c "import sim.api"  # compiles the engine's loops once (numba keeps them in __pycache__)
	touch $(STAMP)

run: $(STAMP)
	$(PY) run_sim.py run scenarios/baseline.yaml

test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) -m "not slow"

test-all: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS)

bench: $(STAMP)
	$(PY) bench/bench.py

# `make fuzz`: the input fuzz test with 2,000 cases instead of the test suite's 120 (a few minutes).
.PHONY: fuzz
fuzz: $(STAMP)
	FUZZ_EXAMPLES=2000 $(PY) -m pytest -q tests/properties/test_fuzz_inputs.py

clean:
	rm -rf $(VENV) results/baseline
