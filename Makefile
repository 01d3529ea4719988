# Two entry points for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench r-oracle clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/remission report examples/cll1-post-hsct --out build/demo

# R is the statistical oracle of the test suite; installed from Debian if missing.
R_PACKAGES := r-base-core r-cran-survival r-cran-cmprsk r-cran-mass r-cran-multcomp r-bioc-deseq2 r-cran-jsonlite
r-oracle:
	@Rscript -e 'library(survival); library(cmprsk); library(MASS); library(multcomp); library(DESeq2); library(jsonlite)' >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(R_PACKAGES) >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports   # layer contract: [tool.importlinter] in pyproject.toml

test: $(STAMP) r-oracle lint
	MPLBACKEND=Agg $(BIN)/python -m pytest -q

bench: $(STAMP) r-oracle
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build .pytest_cache
