# Two entry points for a fresh machine with Python 3.11: `make play` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: play test lint default-model bench clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

## play: set up and open the app on the built-in default model
play: $(VENV)/.installed
	$(BIN)/charlm

## test: set up and run the whole test suite
test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check charlm tests bench

## default-model: retrain the shipped default model from the shipped sample corpus
default-model: $(VENV)/.installed
	$(BIN)/python scripts/build_default_model.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
