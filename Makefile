# One command each, on a fresh machine with Python 3.12+: `make demo`, `make test`, `make docs`.
# Each creates .venv and installs what it needs first. `make test-django-versions` runs the suite
# on the other supported Django versions too, each in its own virtualenv (.venv-django52, ...).

# The first Python >= 3.12 found: python3.13, python3.12, python3, then pyenv's installs.
PYTHON ?= $(firstword $(foreach candidate,python3.13 python3.12 python3 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python),$(shell $(candidate) -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && echo $(candidate))))
VENV := .venv
BIN := $(VENV)/bin

# The supported Django versions other than the newest (which .venv has): virtualenv suffix and pin.
OTHER_DJANGOS := 52:5.2.0 60:6.0.0

.PHONY: demo test test-fast test-django-versions lint docs install check-python messages

check-python:
	@test -n "$(PYTHON)" || { echo "spire-notify needs Python 3.12 or newer; none was found (set PYTHON=...)." >&2; exit 1; }

# npm installs axe-core, which the browser tests inject to check pages against WCAG 2 A/AA.
$(BIN)/.installed: pyproject.toml tests/browser/package-lock.json | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,docs,bench]"
	cd tests/browser && npm ci --no-audit --no-fund --silent
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/python -m demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m tests.run

# The inner loop: SQLite only, without the slow tests (packaging, browser, other processes).
test-fast: install
	$(BIN)/python -m pytest -m "not slow" -q

# .venv-djangoNN/.installed: the checkout, editable, on Django ~=N.N.0 (pip's cache makes reruns quick).
.venv-django%/.installed: pyproject.toml | check-python
	test -x .venv-django$*/bin/python || $(PYTHON) -m venv .venv-django$*
	.venv-django$*/bin/python -m pip install --quiet --upgrade pip
	.venv-django$*/bin/python -m pip install --quiet -e ".[dev,docs,bench]" \
		"Django~=$(lastword $(subst :, ,$(filter $*:%,$(OTHER_DJANGOS))))"
	touch $@

# The suite on SQLite under each other Django; every version runs even when one fails.
test-django-versions: $(foreach pair,$(OTHER_DJANGOS),.venv-django$(firstword $(subst :, ,$(pair)))/.installed)
	@status=0; for pair in $(OTHER_DJANGOS); do \
		venv=.venv-django$${pair%%:*}; \
		$$venv/bin/python -m tests.run --sqlite-only --label "django $$($$venv/bin/python -m django --version)" \
			|| status=1; \
	done; exit $$status

docs: install
	$(BIN)/mkdocs serve

# The German catalogue: collect the msgids of the code and templates (the Jinja2 twins share the
# Django templates' msgids), then compile it. Translate new entries in between.
MAKEMESSAGES_OPTIONS := -l de --symlinks --ignore "jinja2/*" --ignore "static/*" --no-obsolete --add-location file
messages: install
	cd spire_notify && PYTHONPATH=.. ../$(BIN)/django-admin makemessages $(MAKEMESSAGES_OPTIONS) --settings=tests.settings
	cd spire_notify && PYTHONPATH=.. ../$(BIN)/django-admin compilemessages -l de --settings=tests.settings
