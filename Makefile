# Two entry points: `make demo` (the main job) and `make test` (the whole suite).
# Each creates .venv on first use and installs what it needs.
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.meddl-installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	# The CPU build of PyTorch first, so nothing pulls a multi-GB CUDA build.
	$(PYTHON) -m pip install --quiet torch==2.13.0
	$(PYTHON) -m pip install --quiet -e '.[all,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/meddl quickstart --out runs/quickstart

test: $(STAMP)
	$(PYTHON) -m pytest -n 2 -q

clean:
	rm -rf $(VENV) runs build src/*.egg-info
