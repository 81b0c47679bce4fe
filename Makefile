# Two commands on a fresh machine: `make run` and `make test`. Every install step lives here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
VENDOR := static/vendor/.installed

.PHONY: run test setup browser serve-worker serve-prod bench clean lock audit translations

run: setup
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/python -m marketplace

test: setup browser audit
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Translations: the .po catalogs are committed; the compiled .mo files are built here (never committed).
PO_FILES := $(wildcard marketplace/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

setup: $(INSTALLED) $(VENDOR) $(MO_FILES)

# Recompiled whenever its .po is newer (pybabel compile -d marketplace/translations, one catalog at a time).
%.mo: %.po $(INSTALLED)
	$(BIN)/pybabel compile --statistics -i $< -o $@

# For developers after changing user-facing text: re-extract the strings (babel.cfg) and merge them
# into every catalog; tests/integration/test_i18n.py fails until each new string is translated.
# A refusal's message is the second argument of the error classes (marketplace/errors.py), which
# translate it themselves; the engine marks its sentences with N_ (a default keyword).
ERROR_KEYWORDS := $(foreach k,ServiceError BadRequest NotFound Forbidden Conflict PaymentRequired,-k $(k):2)

translations: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext $(ERROR_KEYWORDS) --no-location --sort-output -o marketplace/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i marketplace/translations/messages.pot -d marketplace/translations
	$(MAKE) setup

$(INSTALLED): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $@

# Browser libraries come from the npm registry and are copied into static/vendor (never committed).
$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.min.js node_modules/socket.io-client/dist/socket.io.min.js.map static/vendor/
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css static/vendor/
	touch $@

# Supply chain: pip-audit on the pinned tree (fails on a known vulnerability; where no vulnerability
# service is reachable it says NOT AUDITED and passes, unless AUDIT_STRICT=1) and bandit on our code.
audit: setup
	$(BIN)/python devsupport/audit_deps.py requirements.lock
	$(BIN)/bandit --quiet --recursive marketplace auctions devsupport

# The browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and cannot be installed here: browser tests will skip"; fi; }

# The worker as its own process (production shape); the embedded run starts it in-process.
serve-worker: setup
	$(BIN)/flask --app wsgi worker

# The production shape's web tier: gunicorn with gevent WebSocket workers (settings in
# gunicorn.conf.py and the environment; README "Production shape"). MIGRATE=0 skips the upgrade
# (run it once per deploy, not on every node).
serve-prod: setup
	@[ "$(MIGRATE)" = 0 ] || $(BIN)/flask --app wsgi db upgrade
	exec $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Benchmarks (benchmarks/README.md): print figures, never part of the test suite.
bench: setup
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# Re-pin the whole dependency tree after changing pyproject.toml.
lock:
	rm -rf /tmp/hx-lock && $(PYTHON) -m venv /tmp/hx-lock
	/tmp/hx-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/hx-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) node_modules static/vendor
	find marketplace/translations -name '*.mo' -delete
