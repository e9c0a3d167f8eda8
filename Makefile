# The commands of the project. `make demo` and `make test` are all a newcomer needs.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

DEMO_LINES_PER_DAY ?= 5000
LAUNCH := @$(BIN)/python -m customer_analytics.demo launch
PREPARE_TEST_MACHINE := scripts/prepare-test-machine.sh

# infra/dagster/Dockerfile installs uv.lock with the same release (ARG UV_VERSION).
UV_VERSION := 0.13.8
# uv installs into the project's own venv; --inexact leaves uv itself (and pip) in it. Bytecode is
# compiled once at install: where PYTHONDONTWRITEBYTECODE is set, every Python process (each
# Dagster step, code server and CLI call) would otherwise compile its imports again, 16 s
# instead of 6 s for `import customer_analytics.definitions` on a CI machine.
UV := UV_PROJECT_ENVIRONMENT=$(VENV) UV_COMPILE_BYTECODE=1 $(BIN)/uv

.PHONY: install upgrade demo dev test lint format bench spark-cluster clean

# Exactly the versions of uv.lock, the ones the suite passed with: a clone next month gets them too.
install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(UV) sync --frozen --inexact --extra dev --quiet
	touch $@

# The newest versions pyproject.toml allows, written to uv.lock and installed; run `make test`,
# then commit uv.lock.
upgrade: install
	$(UV) lock --upgrade
	$(UV) sync --frozen --inexact --extra dev

$(DAGSTER_HOME)/dagster.yaml: infra/dagster/dagster.local.yaml
	mkdir -p $(DAGSTER_HOME)
	cp $< $@

# Each step is `dg launch`; its full log goes to $(DAGSTER_HOME)/logs/demo/ and to the instance,
# and one line of figures to the terminal.
demo: install $(DAGSTER_HOME)/dagster.yaml
	@echo "Generating the sample logs ($(DEMO_LINES_PER_DAY) lines a day) under data/raw"
	@$(BIN)/python -m customer_analytics.sample_data --out data/raw \
		--lines-per-day $(DEMO_LINES_PER_DAY) --quiet
	$(LAUNCH) --assets raw_log_content,content_quarantine,daily_pivot \
		--partition-range 2022-04-01...2022-04-30
	$(LAUNCH) --assets customer_content_stats --partition 2022-04-01
	$(LAUNCH) --assets raw_log_search,search_quarantine --partition-range 2022-06-01...2022-06-14
	$(LAUNCH) --assets raw_log_search,search_quarantine --partition-range 2022-07-01...2022-07-14
	$(LAUNCH) --assets monthly_top_keyword,keyword_category,customer_search_stats \
		--partition 2022-06-01
	$(LAUNCH) --assets monthly_top_keyword,keyword_category,customer_search_stats \
		--partition 2022-07-01
	$(LAUNCH) --assets group:analytics --partition 2022-04-01
	@$(BIN)/python -m customer_analytics.demo web
	@$(BIN)/python -m customer_analytics.demo summary

# dg checks that it runs from the project's own virtual environment.
dev: install $(DAGSTER_HOME)/dagster.yaml
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/dg dev

# The tests need the machine as well as the venv: Chromium, Java for PySpark, MariaDB running.
# The script brings in what is missing and says nothing when all is there. `dg check defs` then
# loads every definition as Dagster would, so a broken asset graph fails in seconds, not mid-suite;
# VIRTUAL_ENV tells dg that the venv it runs from is the project's (else it warns of a mismatch).
test: install $(DAGSTER_HOME)/dagster.yaml
	bash $(PREPARE_TEST_MACHINE)
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/dg check defs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# One worker per core: the Spark tests share one session per worker (a worker more, or the
	# browser tests on one worker, made the suite slower). The 20 slowest tests close the log.
	$(BIN)/pytest -n auto --durations=20

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The pipeline beside its lower bound and its peer on a generated month (README, Performance);
# `$(BIN)/python -m customer_analytics_tests.bench --lines-per-day 1600000` is the real month.
bench: install
	$(BIN)/python -m customer_analytics_tests.bench

# A standalone master, two workers and a Spark Connect server on loopback, from the installed
# PySpark: it prints SPARK_MASTER_URL and SPARK_REMOTE for COMPUTE_ENGINE=spark; Ctrl-C stops it.
spark-cluster: install
	$(BIN)/python -m customer_analytics_tests.spark_cluster

clean:
	rm -rf data/raw data/lake data/exports data/warehouse.duckdb* $(DAGSTER_HOME)
