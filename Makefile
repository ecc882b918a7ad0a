# Every target sets up what it needs; a fresh clone only needs python3 (>= 3.11) and make.
PYTHON ?= python3
VENV := .venv
LATEST := .venv-latest
DOCS_VENV := .venv-docs
PIP_FLAGS := -q --disable-pip-version-check

.PHONY: test lint docs demo bench chaos scale redis-server clean

# The pinned test environment (constraints/test.txt keeps aioresponses working).
$(VENV)/.stamp-test: pyproject.toml constraints/test.txt
	@$(VENV)/bin/python -c '' 2>/dev/null || (rm -rf $(VENV) && $(PYTHON) -m venv $(VENV)) \
		|| { echo "'$(PYTHON) -m venv' failed: on Debian/Ubuntu install python3-venv"; exit 1; }
	$(VENV)/bin/pip install $(PIP_FLAGS) -c constraints/test.txt -e '.[test]'
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-test
	$(VENV)/bin/pip install $(PIP_FLAGS) -c constraints/test.txt -e '.[test,dev]'
	@touch $@

# The newest aiohttp, for the tests that cross a real socket (aioresponses is not used there).
$(LATEST)/.stamp: pyproject.toml
	@$(LATEST)/bin/python -c '' 2>/dev/null || (rm -rf $(LATEST) && $(PYTHON) -m venv $(LATEST)) \
		|| { echo "'$(PYTHON) -m venv' failed: on Debian/Ubuntu install python3-venv"; exit 1; }
	$(LATEST)/bin/pip install $(PIP_FLAGS) -e '.[test]'
	$(LATEST)/bin/pip install $(PIP_FLAGS) -U aiohttp
	@touch $@

# The real Redis the shared-state tests start on a free port (Debian package redis-server).
redis-server:
	@.ci/ensure-redis-server

test: $(VENV)/.stamp-test $(LATEST)/.stamp redis-server
	$(VENV)/bin/python -m pytest
	@echo "--- real-socket tests on aiohttp $$($(LATEST)/bin/python -c 'import aiohttp; print(aiohttp.__version__)')"
	$(LATEST)/bin/python -m pytest -m "not mocked" -p no:cacheprovider

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict calendar_transport r7cal pyrus_calendar calendar_cli calendar_bridge

# The docs tools get a venv of their own, so `make test` never installs them.
$(DOCS_VENV)/.stamp: pyproject.toml constraints/docs.txt
	@$(DOCS_VENV)/bin/python -c '' 2>/dev/null || (rm -rf $(DOCS_VENV) && $(PYTHON) -m venv $(DOCS_VENV)) \
		|| { echo "'$(PYTHON) -m venv' failed: on Debian/Ubuntu install python3-venv"; exit 1; }
	$(DOCS_VENV)/bin/pip install $(PIP_FLAGS) -c constraints/docs.txt -e '.[docs]'
	@touch $@

# The reference site, built offline into build/docs; any warning fails the build.
# NO_MKDOCS_2_WARNING: mkdocs-material 9.x prints a banner that its support ends in May 2027.
docs: $(DOCS_VENV)/.stamp
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict --site-dir build/docs

demo: $(VENV)/.stamp-test
	$(VENV)/bin/python examples/demo.py

# A soak of a few thousand mixed calls per backend under injected faults; prints a table.
chaos: $(VENV)/.stamp-test
	$(VENV)/bin/python -m tests.reliability.chaos

# Side-by-side timings against the fakes; never part of `make test`.
bench: $(VENV)/.stamp-test
	$(VENV)/bin/python -m benchmarks

# 8 worker processes sharing one account through Redis, and the same run without it.
scale: $(VENV)/.stamp-test redis-server
	$(VENV)/bin/python -m tests.scale

clean:
	rm -rf $(VENV) $(LATEST) $(DOCS_VENV) build .pytest_cache .mypy_cache .ruff_cache *.egg-info
