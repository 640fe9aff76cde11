# storyline — the two commands the README starts with: `make demo` and `make test`.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: demo test install install-test system-deps lint

demo: install
	$(PYTHON) -m storyline demo

# CI runs this: the PostgreSQL store tests must run here, not skip, and the compiled kernels must
# have been built, so their tests against the Python path run (tests/conftest.py)
test: install-test
	STORYLINE_REQUIRE_POSTGRES=1 STORYLINE_REQUIRE_KERNELS=1 $(PYTHON) -m pytest -q

install:
	$(PIP) install -q -e .

install-test: system-deps
	$(PIP) install -q -e '.[test,embeddings,spark]'

system-deps:
	bash scripts/install-system-deps.sh
