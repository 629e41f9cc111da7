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

# The embedding model exported to ONNX once, so no command pays for it (issue 18); should this
# fail, the first question exports it instead.
EXPORTED := $(VENV)/.onnx-exported
$(EXPORTED): $(STAMP) retrieval/onnx_embedder.py
	$(PY) -m retrieval.onnx_embedder || echo "ONNX export deferred to first use"
	touch $(EXPORTED)

install: $(STAMP) $(EXPORTED)

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

# The question set runs over the sample corpus, Treasury's tables (committed, public domain) and
# the article beside the checkout.
TREASURY := tests/fixtures/treasury
SHARED := ../shared/data
EVAL_CORPUS := data/sample $(TREASURY)/slt_table5.txt $(TREASURY)/mfhhis01.txt $(TREASURY)/mfh.txt $(wildcard $(SHARED)/articles)

# The dev set (real pages, other people's questions) is read from ../shared/eval-dev when it is
# there: tuned on its odd questions, reported on its even ones (see its README).
DEV := ../shared/eval-dev

eval: install
	@test -d $(SHARED) || echo "make eval: $(SHARED) is absent, so its article is not ingested: the questions on it will fail."
	$(VENV)/bin/desk eval tests/eval/questions.jsonl --data-dir var/eval --ingest $(EVAL_CORPUS)
	@if [ -d $(DEV) ]; then \
		cat $(DEV)/questions_a.jsonl $(DEV)/questions_b.jsonl > var/dev-questions.jsonl && \
		$(VENV)/bin/desk eval var/dev-questions.jsonl --halves --data-dir var/eval-dev \
			--ingest $(DEV)/corpus $(TREASURY)/mfhhis01.txt $(TREASURY)/slt_table5.txt; \
	else echo "$(DEV) is not beside the checkout: the dev evaluation (real pages) is skipped"; fi

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
