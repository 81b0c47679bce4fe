# Two commands on a fresh machine: `make run` and `make test`. Every install step lives here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
VENDOR := static/vendor/.installed

.PHONY: run test setup browser serve-worker clean lock

run: setup
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/python -m marketplace

test: setup browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(INSTALLED) $(VENDOR)

$(INSTALLED): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $@

# Browser libraries come from the npm registry and are copied into static/vendor (never committed).
$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.min.js node_modules/socket.io-client/dist/socket.io.min.js.map static/vendor/
	touch $@

# The browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and cannot be installed here: browser tests will skip"; fi; }

# The worker as its own process (production shape); the embedded run starts it in-process.
serve-worker: setup
	$(BIN)/flask --app wsgi worker

# Re-pin the whole dependency tree after changing pyproject.toml.
lock:
	rm -rf /tmp/hx-lock && $(PYTHON) -m venv /tmp/hx-lock
	/tmp/hx-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/hx-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) node_modules static/vendor
