# The two commands of the README. Both build the virtualenv themselves on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install test-tools php-soap node-soap nginx chromium bench clean

run: install
	$(BIN)/sne-hub db upgrade
	$(BIN)/sne-hub demo seed
	$(BIN)/sne-hub certificates demo
	SNE_HUB_DEMO_RECEIVER=on $(BIN)/sne-hub serve

# The suite runs on TEST_WORKERS processes (pytest-xdist): most of its time is spent waiting on the
# servers, clients and clocks its scenarios start (it uses about 860 s of CPU, and took 1,230 s on one
# process). Idle workers take queued tests from busy ones (worksteal), so no long test waits behind
# another. Two, as many as the CI machine's cores: four ran faster here, but make every timing-bound
# scenario share a core with three others.
# Plain `.venv/bin/pytest` runs in one process.
TEST_WORKERS ?= 2

test: install test-tools
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# System tools the tests drive, set up here and never from a test body: PHP with ext/soap (Debian's
# php-cli and php-soap, with apt-get, as root only) and node-soap (npm, into $(NODE_SOAP_DIR)/) for the
# interoperability tests (tests/integration/*/test_interoperability.py); nginx (Debian's package, as
# root only) for the production layout (tests/integration/hub/test_topology.py); Chromium (Debian's
# package, as root only) renders the conformance kit's HTML report (tests/conformance/test_reports.py). Each step does nothing
# when the tool is there. When one cannot be set up they say so and the run goes on: its tests skip,
# or fail under CI=true.
PHP_PACKAGES  := php-cli php-soap
APT_INSTALL   := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(PHP_PACKAGES)
APT_NGINX     := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx
APT_CHROMIUM  := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
NODE_SOAP     := soap@1
NODE_SOAP_DIR := .cache/node-soap

test-tools: php-soap node-soap nginx chromium

php-soap:
	@if php -m 2>/dev/null | grep -qx soap; then :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "php with ext/soap is missing and only root can install it here (apt-get install $(PHP_PACKAGES)):" \
	       "the PHP interoperability tests will skip (fail under CI=true)"; \
	else \
	  echo "apt-get install $(PHP_PACKAGES)"; \
	  { $(APT_INSTALL) >/dev/null || { apt-get update -q >/dev/null && $(APT_INSTALL) >/dev/null; }; } \
	  || echo "apt-get install $(PHP_PACKAGES) failed: the PHP interoperability tests will skip (fail under CI=true)"; \
	fi

node-soap:
	@if [ -f $(NODE_SOAP_DIR)/node_modules/soap/package.json ]; then :; \
	elif ! command -v npm >/dev/null; then \
	  echo "npm is missing: node-soap ($(NODE_SOAP)) cannot be installed into $(NODE_SOAP_DIR)/;" \
	       "the node-soap interoperability tests will skip (fail under CI=true)"; \
	else \
	  echo "npm install $(NODE_SOAP) into $(NODE_SOAP_DIR)/"; \
	  npm install --prefix $(NODE_SOAP_DIR) --no-audit --no-fund --loglevel=error $(NODE_SOAP) >/dev/null \
	  || echo "npm install $(NODE_SOAP) failed: the node-soap interoperability tests will skip (fail under CI=true)"; \
	fi

# Debian's postinst does not start nginx where policy-rc.d forbids it (containers); elsewhere it starts
# the stock site on port 80, which the tests do not use: they run their own nginx from a temp dir.
nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "nginx is missing and only root can install it here (apt-get install nginx):" \
	       "the production layout tests will skip (fail under CI=true)"; \
	else \
	  echo "apt-get install nginx"; \
	  { $(APT_NGINX) >/dev/null || { apt-get update -q >/dev/null && $(APT_NGINX) >/dev/null; }; } \
	  || echo "apt-get install nginx failed: the production layout tests will skip (fail under CI=true)"; \
	fi

chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "chromium is missing and only root can install it here (apt-get install chromium):" \
	       "the conformance report's rendering test will skip (fail under CI=true)"; \
	else \
	  echo "apt-get install chromium"; \
	  { $(APT_CHROMIUM) >/dev/null || { apt-get update -q >/dev/null && $(APT_CHROMIUM) >/dev/null; }; } \
	  || echo "apt-get install chromium failed: the conformance report's rendering test will skip (fail under CI=true)"; \
	fi

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
