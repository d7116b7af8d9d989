# Partnership Bid - the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run test setup assets lint audit test-sqlite test-s3 test-postgres services clean bench

## make run: set everything up, then run the app on SQLite with demo data at http://127.0.0.1:5000
run: setup
	@$(BIN)/flask db upgrade
	@$(BIN)/flask demo seed --if-empty
	@echo "These sign-in details are kept in instance/demo-logins.txt. Emails are printed below by the job worker (MAIL_BACKEND=console)."
	@echo "Starting Partnership Bid at http://127.0.0.1:5000, with a job worker on instance/jobs.sqlite - press Ctrl+C to stop."
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/flask jobs worker & \
	  $(BIN)/flask run --host 127.0.0.1 --port 5000

## make test: set up and run the whole suite (lint, SQLite, PostgreSQL with the browser tests)
test: setup services lint test-sqlite test-s3 test-postgres

setup: $(VENV)/.installed app/static/dist/app.css

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

app/static/dist/app.css: node_modules/.installed scripts/build-assets.js $(wildcard app/assets/*.scss)
	npm run --silent build

assets: node_modules/.installed
	npm run --silent build

services:
	@bash scripts/ensure-services.sh

# ruff (style and bugs, with flake8-bandit's rules) and bandit (the security linter): no finding
# is left unexplained; each accepted one carries a `# nosec <test>` with its reason on its line.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r app config.py wsgi.py

# Known vulnerabilities in the pinned dependencies (PyPI's advisory data). --strict: a dependency
# that cannot be checked fails the run rather than passing silently. Needs PyPI's JSON API, which
# this development machine cannot reach, so it is not part of `make test` (see SECURITY.md).
audit: $(VENV)/.installed
	$(BIN)/pip-audit --strict --no-deps --disable-pip -r requirements.txt -r requirements-dev.txt

# pytest-xdist: one worker per CPU, each with its own database (test_gw0, ...; see tests/conftest.py).
# worksteal: an idle worker takes tests queued for a busy one, so the long browser tests do not pile up.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist worksteal

# The browser tests run once, on PostgreSQL (the database of production); the rest runs on both.
test-sqlite: setup
	@echo "== Test suite on SQLite (without the browser tests) =="
	$(BIN)/pytest -q $(PYTEST_PARALLEL) --ignore=tests/browser

# The tests that store files (documents, exports, funder's forms, the jobs that make them) again,
# with every file in a bucket of moto's S3 server on loopback, as production keeps them.
S3_TESTS := tests/test_documents.py tests/test_exports.py tests/test_export_documents.py tests/test_funder_form.py tests/test_jobs.py \
	tests/test_scanning.py
test-s3: setup
	@echo "== The tests that store files, with the files in an S3-compatible bucket =="
	TEST_STORAGE=s3 $(BIN)/pytest -q $(PYTEST_PARALLEL) $(S3_TESTS)

TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
test-postgres: setup
	@echo "== Test suite on PostgreSQL, with the browser tests =="
	TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -q $(PYTEST_PARALLEL)

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) node_modules app/static/dist instance/test*.sqlite
