# The two commands: `make demo` and `make test`. Both create .venv and install the project if needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint web bench bench-pgstac clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The operational picture's JS libraries and offline basemap, pinned in package-lock.json (no CDN at run time)
WEB := src/aquila/web
WEB_STAMP := $(WEB)/node_modules/.installed
$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json $(WEB)/basemap.mjs
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed for the operational picture: apt-get install npm"; exit 1; }
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error && node basemap.mjs
	touch $(WEB_STAMP)

web: $(WEB_STAMP)

demo: $(STAMP) $(WEB_STAMP)
	$(BIN)/aquila demo

# ruff (E, F, I, B, UP) over the code and tests, mypy over src/: configured in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# Real-browser tests drive Debian's chromium through playwright (no browser download). Installed here when
# the machine lets us (root with apt-get); elsewhere those tests skip and say why.
CHROMIUM_STAMP := $(VENV)/.chromium
$(CHROMIUM_STAMP): $(STAMP)
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null \
	  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	       --no-install-recommends chromium >/dev/null; }; \
	else echo "note: chromium is not installed; the real-browser tests will skip (apt-get install chromium)"; fi
	touch $(CHROMIUM_STAMP)

test: lint $(CHROMIUM_STAMP) $(WEB_STAMP)
	$(BIN)/python -m pytest -q -n 2

# Each benchmark's quick mode beside its anchor (full sizes: run the scripts without --quick; see docs/benchmarks.md)
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/passes.py --quick
	$(BIN)/python benchmarks/catalog.py --quick
	$(BIN)/python benchmarks/catalog_timing.py --quick

# stac-fastapi-pgstac beside Aquila over HTTP (needs PostgreSQL with PostGIS on 127.0.0.1)
bench-pgstac: $(BENCH_STAMP)
	bash benchmarks/pgstac/setup.sh
	$(BIN)/python benchmarks/catalog_pgstac.py --quick

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
