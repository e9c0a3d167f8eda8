# The commands of the project. `make demo` and `make test` are all a newcomer needs.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

DEMO_LINES_PER_DAY ?= 5000
MATERIALIZE := $(BIN)/dagster asset materialize -m customer_analytics.definitions

.PHONY: install demo dev test lint format bench clean

install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(DAGSTER_HOME)/dagster.yaml: infra/dagster/dagster.local.yaml
	mkdir -p $(DAGSTER_HOME)
	cp $< $@

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m customer_analytics.sample_data --out data/raw --lines-per-day $(DEMO_LINES_PER_DAY)
	$(MATERIALIZE) --select raw_log_content,content_quarantine,daily_pivot \
		--partition-range 2022-04-01...2022-04-30
	$(MATERIALIZE) --select customer_content_stats --partition 2022-04-01
	$(MATERIALIZE) --select raw_log_search,search_quarantine --partition-range 2022-06-01...2022-06-14
	$(MATERIALIZE) --select raw_log_search,search_quarantine --partition-range 2022-07-01...2022-07-14
	$(MATERIALIZE) --select monthly_top_keyword,keyword_category,customer_search_stats --partition 2022-06-01
	$(MATERIALIZE) --select monthly_top_keyword,keyword_category,customer_search_stats --partition 2022-07-01
	$(BIN)/python -m customer_analytics.demo

dev: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -m customer_analytics.definitions

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m customer_analytics_tests.bench

clean:
	rm -rf data/raw data/lake data/exports data/warehouse.duckdb* $(DAGSTER_HOME)
