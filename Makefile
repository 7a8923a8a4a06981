# Customer Credit portal: developer tasks.  `make setup` is idempotent and fast when done.
PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
FLASK       := $(BIN)/flask --app portal
PIP_STAMP   := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
NPM_STAMP   := node_modules/.package-lock.json
VENDOR_DIR  := static/vendor
VENDOR      := $(VENDOR_DIR)/htmx.min.js \
               $(VENDOR_DIR)/bootstrap.min.css \
               $(VENDOR_DIR)/bootstrap.bundle.min.js \
               $(VENDOR_DIR)/chart.umd.min.js
PYTEST_ARGS ?= -n auto
CATALOGS    := portal/translations
PO_FILES    := $(wildcard $(CATALOGS)/*/LC_MESSAGES/messages.po)
MO_FILES    := $(PO_FILES:.po=.mo)
PORT        ?= 5000

.PHONY: setup run dev test bench lint clean translations
.DELETE_ON_ERROR:

setup: $(PIP_STAMP) $(VENDOR) $(MO_FILES)
	$(FLASK) db upgrade

# --- Translations (Flask-Babel): the .po catalogs are committed, the .mo files built ----
# `make translations` extracts every _() of portal/ and templates/ (babel.cfg) and merges
# new strings into each catalog; translate them there (tests/test_catalogs.py fails while
# one is missing). --ignore-dirs is given its own default on purpose: left out, pybabel
# also skips folders starting with "_", such as templates/_macros.
translations: $(PIP_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --no-location \
	  --ignore-dirs=".* ._" --sort-output -o $(CATALOGS)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) --no-fuzzy-matching \
	  --ignore-obsolete

$(CATALOGS)/%/LC_MESSAGES/messages.mo: $(CATALOGS)/%/LC_MESSAGES/messages.po | $(PIP_STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ -l $*

# Links in e-mails point at this server unless PORTAL_PUBLIC_URL says otherwise.
run dev: export PORTAL_PUBLIC_URL ?= http://127.0.0.1:$(PORT)

# The real thing, in the foreground: gunicorn (web) and the jobs worker from the Procfile,
# run by honcho; one Ctrl-C stops both. WEB_CONCURRENCY, WEB_THREADS, WEB_BIND and PORT
# tune the web line (README: Running in production).
run: setup
	$(FLASK) seed-demo --if-empty
	@echo "Serving http://127.0.0.1:$(PORT)/login (gunicorn) and running the jobs worker; Ctrl-C stops both."
	PATH="$(CURDIR)/$(BIN):$$PATH" PYTHONUNBUFFERED=1 $(BIN)/honcho start --port $(PORT)

# Flask's debug server (reloads on code changes, debugger on errors); no jobs worker:
# run `$(FLASK) jobs worker` in another terminal when you need one.
dev: setup
	$(FLASK) seed-demo --if-empty
	$(FLASK) run --debug --host 127.0.0.1 --port $(PORT)

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

# Speed over HTTP (gunicorn) on SQLite and PostgreSQL, beside a Flask-Admin peer; the stores
# are built once per size under bench/cache/. BENCH_ARGS="--accounts 2000 --invoices 20000".
bench: setup $(BENCH_STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

lint: $(PIP_STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) node_modules $(VENDOR_DIR)

# --- Python virtualenv --------------------------------------------------------
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "$(PYTHON) must be Python 3.11 or newer (found: $$($(PYTHON) -V 2>&1))" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml is newer than the stamp.
$(PIP_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

# The bench extra (Flask-Admin, requests, psutil) only for `make bench`.
$(BENCH_STAMP): pyproject.toml $(PIP_STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	@touch $@

# --- Front-end libraries (npm) ------------------------------------------------
# npm ci writes node_modules/.package-lock.json, so it re-runs only when
# node_modules is missing or package-lock.json changed.
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR_DIR):
	mkdir -p $@

# Copies depend on the npm stamp (files inside npm tarballs carry a fixed old mtime).
$(VENDOR_DIR)/htmx.min.js: $(NPM_STAMP) | $(VENDOR_DIR)
	cp node_modules/htmx.org/dist/htmx.min.js $@
$(VENDOR_DIR)/bootstrap.min.css: $(NPM_STAMP) | $(VENDOR_DIR)
	cp node_modules/bootstrap/dist/css/bootstrap.min.css $@
$(VENDOR_DIR)/bootstrap.bundle.min.js: $(NPM_STAMP) | $(VENDOR_DIR)
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $@
$(VENDOR_DIR)/chart.umd.min.js: $(NPM_STAMP) | $(VENDOR_DIR)
	cp node_modules/chart.js/dist/chart.umd.min.js $@
