# The two commands of README.md: `make run` and `make test`. Everything else
# here is a helper of those two.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test test-long lint bench bench-quick clean

# constraints.txt pins what is installed, so CI and every developer test the same set.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "crop-progress needs Python 3.10 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,web]'
	@touch $(STAMP)

# Opens the crop window on ARGS (default: a generated sample set). Without a
# display (ssh, container) it runs the headless tool instead and says so.
run: $(STAMP)
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ] && [ "$$(uname)" != "Darwin" ]; then \
	  echo "No display found: running the headless tool (multicrop --auto center --aspect 1:1)."; \
	  $(BIN)/multicrop --auto center --aspect 1:1 $(ARGS); \
	else \
	  $(BIN)/multicrop $(ARGS); \
	fi

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

test-long: $(STAMP)
	$(BIN)/python -m pytest -q --long

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) build dist *.egg-info
