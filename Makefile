# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint eval bench soak clean

# torch goes in first, pinned: the CPU build lies on this disk, any other spelling pulls CUDA.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/desk run

# -rs lists any skip and tests/no_skips.py fails the run on it: the suite must run whole.
test: install
	$(PY) -m pytest -q -rs -p tests.no_skips

# ruff (rules and formatting) and mypy, as configured in pyproject.toml; CI runs it after the tests.
LINTED := bot/ retrieval/ ingest/ prompts/
lint: install
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy $(LINTED)

# The question set runs over the sample corpus and Treasury's tables beside the checkout.
SHARED := ../shared/data
EVAL_CORPUS := data/sample $(wildcard $(SHARED)/holdings/slt_table5.txt $(SHARED)/holdings/mfhhis01.txt $(SHARED)/holdings/mfh.txt $(SHARED)/articles)

eval: install
	@test -d $(SHARED) || echo "make eval: $(SHARED) is absent, so only data/sample is ingested: the questions on Treasury's full tables and the shared article will fail."
	$(VENV)/bin/desk eval tests/eval/questions.jsonl --data-dir var/eval --ingest $(EVAL_CORPUS)

# The long benchmarks (not run by CI); results are written up in docs/BENCHMARKS.md.
# torch is pinned again on the same line so that pip can never swap it for another build.
bench: install
	$(PY) -m pip install --quiet torch==2.13.0 -e '.[bench]'
	$(PY) benchmarks/run_all.py

# The 20-trial SIGKILL soak of docs/RELIABILITY.md (about 7 minutes; CI runs a 3-trial version);
# -s shows the kill times each trial prints.
soak: install
	RELIABILITY_SOAK=1 $(PY) -m pytest -q -s tests/reliability -m soak

clean:
	rm -rf $(VENV) build *.egg-info
