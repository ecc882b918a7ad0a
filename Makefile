# Every target sets up what it needs; a fresh clone only needs python3 (>= 3.11) and make.
PYTHON ?= python3
VENV := .venv
LATEST := .venv-latest
DOCS_VENV := .venv-docs
DIST_VENV := .venv-dist
# The Pythons the classifiers claim; make test-pythons runs the installed wheel on the ones
# make test does not (tests/packaging checks this list against pyproject.toml).
PYTHONS := 3.11 3.12 3.13
PIP_FLAGS := -q --disable-pip-version-check

.PHONY: test lint docs demo bench chaos scale redis-server clean dist test-installed test-floors \
	test-pythons check-pythons

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
	$(VENV)/bin/mypy --strict calendar_transport calendar_watch r7cal pyrus_calendar calendar_cli calendar_bridge \
		tests/typing

# The docs tools get a venv of their own, so `make test` never installs them.
$(DOCS_VENV)/.stamp: pyproject.toml constraints/docs.txt
	@$(DOCS_VENV)/bin/python -c '' 2>/dev/null || (rm -rf $(DOCS_VENV) && $(PYTHON) -m venv $(DOCS_VENV)) \
		|| { echo "'$(PYTHON) -m venv' failed: on Debian/Ubuntu install python3-venv"; exit 1; }
	$(DOCS_VENV)/bin/pip install $(PIP_FLAGS) -c constraints/docs.txt -e '.[docs]'
	@touch $@

# The reference site, built offline into build/docs; any warning fails the build. Then the
# built pages are checked (no raw Sphinx role, no internal entry, readable sizes): `make test`
# skips that check where the docs tools are not installed yet, as in CI, which runs it first.
# NO_MKDOCS_2_WARNING: mkdocs-material 9.x prints a banner that its support ends in May 2027.
docs: $(DOCS_VENV)/.stamp $(VENV)/.stamp-test
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict --site-dir build/docs
	DOCS_SITE=build/docs $(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/docs/test_built_site.py

# The demo needs the clients, the fakes and iCalendar export: the `ics` extra, nothing more.
$(VENV)/.stamp-demo: pyproject.toml
	@$(VENV)/bin/python -c '' 2>/dev/null || (rm -rf $(VENV) && $(PYTHON) -m venv $(VENV)) \
		|| { echo "'$(PYTHON) -m venv' failed: on Debian/Ubuntu install python3-venv"; exit 1; }
	$(VENV)/bin/pip install $(PIP_FLAGS) -e '.[ics]'
	@touch $@

demo: $(VENV)/.stamp-demo
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

# What users install: the sdist, and the wheel built from it, as `python -m build` makes them.
$(DIST_VENV)/.stamp: constraints/dist.txt
	@$(DIST_VENV)/bin/python -c '' 2>/dev/null || (rm -rf $(DIST_VENV) && $(PYTHON) -m venv $(DIST_VENV)) \
		|| { echo "'$(PYTHON) -m venv' failed: on Debian/Ubuntu install python3-venv"; exit 1; }
	$(DIST_VENV)/bin/pip install $(PIP_FLAGS) -r constraints/dist.txt
	@touch $@

# An old *.egg-info/SOURCES.txt is read back into a new sdist: start without one.
dist: $(DIST_VENV)/.stamp
	rm -rf dist *.egg-info
	$(DIST_VENV)/bin/python -m build -q -o dist .
	$(DIST_VENV)/bin/twine check --strict dist/*

# The whole suite against the wheel, installed (not editable) into a fresh venv, from a
# folder where the source tree cannot be imported (.ci/test-installed).
test-installed: dist redis-server
	.ci/test-installed $(PYTHON) .venv-installed -c constraints/test.txt

# The same on the oldest release of every dependency pyproject.toml allows.
test-floors: dist redis-server
	@mkdir -p build
	.ci/floor-constraints > build/floors.txt
	.ci/test-installed $(PYTHON) .venv-floors -c build/floors.txt

# Every claimed Python can be found (one line names a missing one); .ci/run asks first.
check-pythons:
	@for version in $(PYTHONS); do .ci/find-python $$version >/dev/null || exit 1; done

# The same on every other Python the classifiers claim; a missing one fails in one line.
test-pythons: check-pythons dist redis-server
	@for version in $(filter-out $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'),$(PYTHONS)); do \
		python=$$(.ci/find-python $$version) || exit 1; \
		.ci/test-installed $$python .venv-py$$version -c constraints/test.txt || exit 1; \
	done

clean:
	rm -rf $(VENV) $(LATEST) $(DOCS_VENV) $(DIST_VENV) .venv-installed .venv-floors .venv-py3.* \
		build dist .pytest_cache .mypy_cache .ruff_cache *.egg-info
