# Hemu: the README's two commands are `make run` and `make test`; each sets itself up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt 2>/dev/null | sha256sum | cut -c1-12)
SPACY_MODEL := build/spacy/zh_jieba/config.cfg
export RASA_TELEMETRY_ENABLED := false
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup spacy train validate check-config eval eval-dev test unit explore simulate chaos fuzz lint run run-actions bench bench-cases bench-gateway bench-report bench-thresholds bench-turn clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv with Python 3.10 and install pinned dependencies
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || $$(scripts/find_python.sh) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<25" wheel
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-* && touch $@

spacy: setup $(SPACY_MODEL) ## build the blank zh+jieba spaCy pipeline offline
$(SPACY_MODEL):
	$(PY) scripts/build_spacy.py build/spacy/zh_jieba

train: spacy ## train the Rasa model unless config, domain and data are unchanged
	$(PY) scripts/train.py

validate: setup ## rasa data validate, warnings are errors
	$(RASA) data validate --fail-on-warnings

check-config: setup ## check station configuration, content files and the gateway's texts and settings
	$(PY) -m hemu check
	$(PY) -m bot --check

eval: train ## held-out intents (confusions, results/), danger tiers on held-out and outside sets, outside-set reports
	$(PY) scripts/eval_nlu.py

eval-dev: train ## the development sets (tests/nlu_dev) with every error and a threshold curve: tune rules here, never on the evaluation sets
	$(PY) scripts/eval_nlu.py --dev

unit: setup ## fast tests only (no training, no trained model, no servers)
	$(PY) -m pytest -m "not rasa and not slow" tests

# pytest's exit code 5 (nothing collected) fails this target on purpose: an empty run proves nothing.
test: train ## the whole test suite: data validation, unit, NLU component, conversation stories, end to end
	$(PY) -m pytest tests

EXPLORE ?= 5000
explore: train ## the dialogue explorer, long: EXPLORE=5000 random conversations against the real servers
	HEMU_EXPLORE_CONVERSATIONS=$(EXPLORE) $(PY) -m pytest --timeout=0 -s -p no:cacheprovider tests/e2e/test_dialogue_explorer.py

SIMULATE ?= 400
simulate: setup ## the promise simulator, long: SIMULATE=400 random worlds (rosters, shifts, holidays, zones, clock jumps) per test
	HEMU_SIM_EXAMPLES=$(SIMULATE) $(PY) -m pytest --timeout=0 -s -p no:cacheprovider tests/hemu/test_promise_simulator.py

CHAOS_TRIALS ?= 100
chaos: train ## fault injection, long: kill -9 in CHAOS_TRIALS=100 cases, Telegram down, 429/5xx, Rasa down/slow, store locked, a flood (results/chaos.json)
	CHAOS_TRIALS=$(CHAOS_TRIALS) $(PY) -m pytest --timeout=0 -s -p no:cacheprovider tests/chaos -m chaos

FUZZ ?= 100000
fuzz: setup ## hostile updates through the gateway, long: FUZZ=100000 (1,500 run in make test); HEMU_FUZZ_SEED to repeat one
	HEMU_FUZZ_UPDATES=$(FUZZ) $(PY) -m pytest --timeout=0 -s -p no:cacheprovider tests/bot/test_fuzz.py

lint: setup ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

WORKERS ?=
run: train ## run Rasa, actions, the gateway (and offline the sandbox page) together; Ctrl-C stops all; WORKERS=N Rasa servers on PostgreSQL + Redis; DEMO_DAYS=N seeds the sandbox with N days of demo cases
	$(if $(WORKERS),HEMU_WORKERS=$(WORKERS) )$(if $(DEMO_DAYS),HEMU_DEMO_DAYS=$(DEMO_DAYS) )$(PY) scripts/run.py

bench: train bench-cases bench-gateway bench-report bench-turn ## all benchmarks: NLU, risk recall, latency, RSS, cases, assignment, gateway
	$(PY) bench/nlu_bench.py

bench-thresholds: setup ## danger thresholds on a fifth of the training lines held back (a second view; policy.yml chooses on the development sets)
	$(PY) bench/risk_thresholds.py

bench-turn: train ## CPU per resident turn (Rasa, actions), turn 1 vs turn 50, where Rasa's CPU goes (py-spy)
	$(PY) bench/turn_cost.py --profile 20

bench-gateway: train ## gateway: where a turn's time goes in it, latency vs direct Rasa, turns/s with 20 and 100 residents, cold start, RSS; 1 vs 2 Rasa workers
	$(PY) bench/gateway_path.py
	$(PY) bench/gateway_bench.py
	$(PY) bench/workers_bench.py

bench-cases: setup ## case store (8 writers, SQLite and PostgreSQL), assignment, a busy week of promises replayed, opening with 1,000 vs 1,000,000 past cases
	$(PY) bench/assign_bench.py
	$(PY) bench/store_bench.py
	$(PY) bench/promise_week.py
	$(PY) bench/case_scale.py

bench-report: setup ## the station report: store read, figures, digest image, HTML, CSV, PDF for a month and a year of demo cases
	$(PY) bench/report_bench.py

clean: ## remove trained models and results (keeps .venv)
	rm -rf models results build .rasa
