# The two commands of the README. Both build the virtualenv themselves on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install bench clean

run: install
	$(BIN)/sne-hub db upgrade
	$(BIN)/sne-hub demo seed
	$(BIN)/sne-hub certificates demo
	$(BIN)/sne-hub serve

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/registrations.py

install: $(STAMP)

$(STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (spyne 2.14 does not run on 3.12+)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	rm -rf $(VENV) var .pytest_cache *.egg-info
