# Walkabout: `make run` starts the app with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
DEMO_PASSWORD ?= walkabout-demo
export WALKABOUT_ENV ?= development
PG_TEST_URL := postgresql+psycopg://walkabout:walkabout@127.0.0.1:5432/walkabout_test

.PHONY: run test test-postgres bench test-cluster test-cluster-clean browser poppler vendor install lint format clean
NODE_BIN := node_modules/.bin
STYLESHEETS := static/vendor/walkabout.css static/vendor/walkabout-content.css

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	@# The package lists static/vendor/ (filled by `make vendor`); it must exist to install.
	mkdir -p static/vendor
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,dev]"
	touch $@

install: $(BIN)/.installed

# npm's pinned tools (package-lock.json): ESLint; the NHS.UK design system and Sass for the
# stylesheet; axe-core and the Nu Html Checker for the browser tests. No install scripts run.
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --silent
	touch $@

# Lint and format checks, as CI runs them (`make format` rewrites instead).
lint: install node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(NODE_BIN)/eslint static/js

format: install node_modules/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(NODE_BIN)/eslint --fix static/js

# Only the design system's components the screens use, plus the app's own rules (see
# static/css/walkabout.scss: the capture page loads the first stylesheet alone).
$(STYLESHEETS): node_modules/.installed $(wildcard static/css/*.scss)
	@mkdir -p static/vendor
	$(NODE_BIN)/sass --load-path=node_modules --no-source-map --style=compressed --quiet-deps \
		static/css/walkabout.scss:static/vendor/walkabout.css \
		static/css/walkabout-content.scss:static/vendor/walkabout-content.css
	gzip -9 -k -f -n static/vendor/walkabout.css static/vendor/walkabout-content.css

# The phone's scripts, minified with terser: offline.min.js (every page: idb-keyval, the pinned
# IndexedDB wrapper of the offline queue, and static/js/offline.js) and capture.min.js (the
# capture page: the same plus static/js/capture.js, one request, within its 30 KB budget).
# idb-keyval's ES module becomes a script-scoped `idbKeyval` (its one `export` line dropped).
SCRIPTS := static/vendor/offline.min.js static/vendor/capture.min.js
static/vendor/idb-keyval.js: node_modules/.installed
	@mkdir -p static/vendor
	{ echo "var idbKeyval = (function () {"; grep -v '^export {' node_modules/idb-keyval/dist/index.js; \
	  echo "return { get: get, set: set, del: del, keys: keys }; })();"; } > $@
static/vendor/offline.min.js: static/vendor/idb-keyval.js static/js/offline.js
	$(NODE_BIN)/terser $^ --compress --mangle --output $@
	gzip -9 -k -f -n $@
static/vendor/capture.min.js: static/vendor/idb-keyval.js static/js/offline.js static/js/capture.js
	$(NODE_BIN)/terser $^ --compress --mangle --output $@
	gzip -9 -k -f -n $@

vendor: install $(STYLESHEETS) $(SCRIPTS)
	$(BIN)/python scripts/fetch_htmx.py
	@test static/vendor/htmx.min.js.gz -nt static/vendor/htmx.min.js || gzip -9 -k -f -n static/vendor/htmx.min.js

run: vendor
	$(BIN)/flask --app walkabout db-upgrade
	$(BIN)/flask --app walkabout seed-demo --if-empty --password "$(DEMO_PASSWORD)"
	@echo
	@echo "Walkabout is running at http://127.0.0.1:$(PORT) (with its scheduler; email goes to instance/outbox/)"
	@echo "Demo logins (password: $(DEMO_PASSWORD)):"
	@echo "  executive@example.org   manager@example.org   secretary@example.org   admin@example.org"
	@echo
	@# The scheduler (reminders, digests, board packs, email) runs beside the web server and stops with it.
	@# Links in its emails point at this server: WALKABOUT_BASE_URL follows PORT unless it is set.
	export WALKABOUT_BASE_URL="$${WALKABOUT_BASE_URL:-http://127.0.0.1:$(PORT)}"; \
	$(BIN)/flask --app walkabout scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask --app walkabout run --host 127.0.0.1 --port $(PORT)

# Debian's Chromium drives the browser tests (Playwright never downloads its own).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Debian's poppler-utils (pdftoppm) renders report pages to PNG in the report tests.
poppler:
	@command -v pdftoppm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; }

# Debian's wrk drives the throughput benchmark (make bench).
.PHONY: wrk
wrk:
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

# The suite runs in parallel (pytest-xdist, one worker per core: PYTEST_ARGS="-n 0" runs it in one process).
PYTEST_ARGS ?= -n auto
test: vendor browser poppler
	WALKABOUT_ENV=test $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: vendor browser poppler
	bash scripts/postgres-test-up.sh
	WALKABOUT_ENV=test WALKABOUT_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest $(PYTEST_ARGS)

# The budgets of DESIGN.md section 7 in one table (quick: aimed at under 10 minutes; BENCH_ARGS=--full for the long runs,
# BENCH_ARGS="--only throughput cpu" or "--skip soak faults" to pick parts).
# Loads only 127.0.0.1; the soak and fault runs use SQLite and the local PostgreSQL server.
BENCH_ARGS ?=
bench: vendor browser wrk
	bash scripts/postgres-test-up.sh
	@# The benchmarks serve the app in production mode, which needs the installation's address and mailbox.
	WALKABOUT_ENV=test WALKABOUT_BASE_URL=http://127.0.0.1 WALKABOUT_MAIL_FROM="Walkabout <walkabout@bench.walkabout.test>" \
		$(BIN)/python -m bench.budgets $(BENCH_ARGS)

# Proof on several hosts (bench/README.md): PostgreSQL, two app hosts, nginx and the users as network
# namespaces of this machine; a host is killed under load. Needs root; not run by .ci/run (a few minutes).
CLUSTER_ARGS ?=
test-cluster: vendor
	$(BIN)/python -m bench.cluster $(CLUSTER_ARGS)

# Remove what a killed `make test-cluster` left: its namespaces and every process inside them.
test-cluster-clean:
	bash scripts/cluster-net.sh down

clean:
	rm -rf $(VENV) static/vendor node_modules test-artifacts .pytest_cache
