# Two entry points for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench docs r-oracle web-deps web clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,web,singlecell,docs,sim]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/remission report examples/cll1-post-hsct --out build/demo

# R is the statistical oracle of the test suite; installed from Debian if missing.
R_PACKAGES := r-base-core r-cran-desolve r-cran-survival r-cran-cmprsk r-cran-mass r-cran-multcomp r-bioc-deseq2 r-cran-jsonlite r-cran-vegan r-cran-seurat r-bioc-singler r-bioc-org.hs.eg.db r-bioc-go.db
r-oracle:
	@Rscript -e 'library(deSolve); library(survival); library(cmprsk); library(MASS); library(multcomp); library(DESeq2); library(jsonlite); library(vegan); library(Seurat); library(SingleR); library(org.Hs.eg.db)' >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(R_PACKAGES) >/dev/null; }

# The web app's tests drive Debian's Chromium (Playwright never downloads a browser here)
# and run the database tests on a throw-away PostgreSQL cluster as well as SQLite.
WEB_PACKAGES := chromium postgresql
web-deps:
	@{ [ -x /usr/bin/chromium ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(WEB_PACKAGES) >/dev/null; }

# axe-core (npm) is injected by the browser tests to check accessibility
AXE := build/npm/node_modules/axe-core/axe.min.js
$(AXE):
	@command -v npm >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; }
	npm install --prefix build/npm --no-audit --no-fund --silent axe-core@4.14.1

# remission web: the trial team's browser application on 127.0.0.1 (demo account printed)
web: $(STAMP)
	$(BIN)/remission web

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports   # layer contract: [tool.importlinter] in pyproject.toml

# Two pytest-xdist workers (CI has 2 cores; the suite took 20 min serially, docs/
# performance.md session 15). Not `-n auto`: it counts physical cores (1 where the two are
# SMT siblings) and, on a larger machine, every further worker repeats the ~40 s collection
# and the web tests' set-up while several tests already use every core themselves.
# --dist loadfile: a test file's tests run in one worker, so a module-scoped fixture (an R
# run, a simulation) is computed once; --no-loadscope-reorder: files in pytest's order (not
# the largest first), which keeps pytest-django's database tests before its transactional
# ones and sends the `heavy` tests first (conftest.py). `make test PYTEST_WORKERS=0`: serial.
PYTEST_WORKERS ?= 2
test: $(STAMP) r-oracle web-deps $(AXE) lint
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

# API reference (mkdocstrings reads the docstrings statically) and tutorials -> build/docs.
# tests/test_docs.py builds the same site and runs every tutorial block, so `make test`
# fails on a broken reference or a stale tutorial.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir build/docs

bench: $(STAMP) r-oracle
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build .pytest_cache
