# The two commands a newcomer needs: `make demo` and `make test`.
# Everything installs into .venv from the pinned versions in requirements/constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := salesforce-api salesforce-emulator source-salesforce destination-salesforce
STAMP := $(VENV)/.installed
PYPROJECTS := $(foreach p,$(PACKAGES),$(p)/pyproject.toml)

.PHONY: install demo test images test-images lint bench bench-production soak emulator compat lock clean

# Airbyte's own source-salesforce, unmodified, in its own venv under ~/.cache (reused): for `make compat` and the
# side-by-side benchmarks.
COMPAT_VENV := $(HOME)/.cache/salesforce-connectors/airbyte-source-salesforce-2.10.3
AIRBYTE_SOURCE := $(COMPAT_VENV)/bin/source-salesforce

install: $(STAMP)

$(STAMP): requirements/constraints.txt requirements/dev.txt $(PYPROJECTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -r requirements/dev.txt \
		$(foreach p,$(PACKAGES),-e ./$(p))
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

# Both connector images (starts a Docker engine if none answers; see scripts/images.sh), then the image suite through
# `docker run` and the fresh-virtualenv install of each connector folder.
images:
	scripts/images.sh

test-images: $(STAMP) images
	$(BIN)/python -m pytest -m images -n 2 acceptance-tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP) $(AIRBYTE_SOURCE)
	$(BIN)/python benchmarks/run.py

# The production-profile scenarios alone, side by side with Airbyte's source (~45 min at full size, most of it Airbyte's first sync);
# `make bench-production BENCH_SCALE=0.05` for a quick check (add BENCH_FLAGS=--no-save to keep the committed results).
BENCH_SCALE ?= 1
bench-production: $(STAMP) $(AIRBYTE_SOURCE)
	$(BIN)/python benchmarks/run.py --only prod_first_sync,prod_incremental,prod_destination_upsert \
		--scale $(BENCH_SCALE) $(BENCH_FLAGS)

soak: $(STAMP)
	$(BIN)/python -m pytest -m soak --run-soak

emulator: $(STAMP)
	$(BIN)/salesforce-emulator serve --port 8443 --seed demo

# Airbyte's own source-salesforce, unmodified, against the emulator over https through its proxy (not part of
# `make test`: it installs a package). Its venv is kept under ~/.cache and reused.
# `make compat COMPAT_PROFILE=production` runs it against the emulator's production latency profile.
COMPAT_PROFILE ?= default
compat: $(STAMP) $(AIRBYTE_SOURCE)
	$(BIN)/python scripts/compat_airbyte_source.py --connector $(AIRBYTE_SOURCE) --profile $(COMPAT_PROFILE)

$(AIRBYTE_SOURCE):
	rm -rf $(COMPAT_VENV) && $(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet airbyte-source-salesforce==2.10.3

# Re-resolve every dependency and rewrite the pins (run after changing a pyproject dependency).
lock:
	rm -rf /tmp/sf-lock-venv && $(PYTHON) -m venv /tmp/sf-lock-venv
	/tmp/sf-lock-venv/bin/python -m pip install --quiet -r requirements/dev.txt $(foreach p,$(PACKAGES),./$(p))
	{ echo '# Pinned versions of every dependency; regenerate with `make lock`.'; \
	  /tmp/sf-lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^salesforce-connector-'; } > requirements/constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache build */build */*.egg-info
