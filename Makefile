# The two commands a newcomer needs: `make run` and `make test`.
# Each creates .venv when it is missing, or refreshes it when pyproject.toml or
# the lock file changed, so a fresh clone needs nothing but Python 3.11+ and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := .ci/constraints.txt
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest lock clean openapi bench soak fuzz

$(STAMP): pyproject.toml $(LOCK) tests/plugins/parley-ndjson/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(LOCK) -e '.[dev]'
	# The example exporter plugin, discovered through its entry point by the tests.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-build-isolation \
		-e tests/plugins/parley-ndjson
	@touch $@

run: $(STAMP)
	$(BIN)/parley serve --host 127.0.0.1 --port 8000

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers. The few tests that run for minutes (marked heavy) are collected first
# (tests/conftest.py), and a worker that runs out of tests takes the other's, so the
# heavy ones run beside the rest rather than after it.
PYTEST_ARGS ?= -n 2 --dist worksteal
pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# Re-resolve every dependency to its newest release and pin the result.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	( echo "# Pinned versions of every dependency; regenerate with 'make lock'."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable --all | grep -v '^pip==' ) > $(LOCK)
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .bench-venv instance .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist

# Regenerate the committed OpenAPI document from the code.
openapi: $(STAMP)
	$(BIN)/parley openapi --output openapi.yaml

# Performance against baselines measured in the same run (README, "Performance").
# Builds (and keeps, in bench/) the databases it needs, installs wrk and Datasette
# when missing, prints the table and writes bench/results.json; exits non-zero
# when a target is missed. PostgreSQL instead of SQLite: DATABASE_URL=postgresql+psycopg://...
BENCH_TALKS    ?= 1000000
BENCH_SEED     ?= 0
BENCH_DURATION ?= 10
BENCH_WARMUP   ?= 2
BENCH_THREADS  ?=
BENCH_ARGS     ?=
bench: $(STAMP)
	$(BIN)/python -m tests.bench --talks $(BENCH_TALKS) --seed $(BENCH_SEED) \
		--duration $(BENCH_DURATION) --warmup $(BENCH_WARMUP) \
		$(if $(BENCH_THREADS),--threads '$(BENCH_THREADS)') $(BENCH_ARGS)

# The soak: mixed reads, exports and writes against gunicorn on PostgreSQL for
# SOAK_SECONDS (ten minutes by default), then no errors, no lost write, and worker
# memory flat within 10% after warm-up. `make test` runs a 60-second form of it.
SOAK_SECONDS ?= 600
soak: $(STAMP)
	SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python -m tests.soak

# Longer fuzzing than `make test`: schemathesis (every operation, and chains of them) and
# the fixture loader, FUZZ_SCALE times the CI size, from a random seed that is printed;
# FUZZ_SEED=<seed> repeats a run. The figures of every test and worker are summed up.
FUZZ_SCALE ?= 10
fuzz: $(STAMP)
	@seed=$${FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	report=$$(mktemp); \
	echo "make fuzz: FUZZ_SEED=$$seed FUZZ_SCALE=$(FUZZ_SCALE)"; \
	FUZZ_SEED=$$seed FUZZ_SCALE=$(FUZZ_SCALE) FUZZ_REPORT=$$report $(BIN)/pytest -n 2 \
		-p no:cacheprovider tests/test_schemathesis.py tests/test_stateful_fuzz.py \
		tests/test_fixture_fuzz.py; \
	status=$$?; \
	cat $$report; \
	awk '{for (i = 1; i <= NF; i++) { split($$i, kv, "="); \
		if (kv[1] == "requests") r += kv[2]; if (kv[1] == "5xx") e += kv[2]; \
		if (kv[1] == "documents") d += kv[2] } } \
		END { printf "make fuzz: %d requests, %d 5xx, %d fixture documents\n", r, e, d }' $$report; \
	rm -f $$report; \
	echo "make fuzz: FUZZ_SEED=$$seed (repeat this run with: make fuzz FUZZ_SEED=$$seed)"; \
	exit $$status
