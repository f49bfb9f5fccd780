# The README's two commands are `make up` and `make test`. Both set everything up first:
# the virtual environment and Python packages, the JVM jars (Maven, from jvm/*/pom.xml),
# the event validator (javac, jvm/validator) and the Debian packages (a JDK, maven,
# redis-server, chromium, openssl) when missing. `make test` also builds etcd and the
# Kubernetes API server, Prometheus and promtool from Go modules (Go >= 1.21 needed; once
# per machine).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
JARS := .rtap/jars
STACK ?= local
# Spark already ships Spark, Hadoop and Scala; only the connector and its Kafka client
# are copied next to it.
SPARK_CONNECTOR_ARTIFACTS := spark-sql-kafka-0-10_2.13,spark-token-provider-kafka-0-10_2.13,kafka-clients,commons-pool2

.PHONY: help up test lint unit integration setup system-packages venv jars kube-tools prometheus down clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

up: setup prometheus ## Run the whole pipeline locally on real engines (Ctrl-C stops); ARGS="--duration 60"
	$(BIN)/rtap up --stack $(STACK) $(ARGS)

# Unit and integration tests run in two pytest processes: chDB allows one engine data
# directory per process, and each suite opens its own. Exit code 5 (nothing collected)
# is a failure, never a pass.
PYTEST = @run_pytest() { status=0; $(BIN)/python -m pytest "$$@" $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: pytest collected no tests in $$1" >&2; return 1; fi; \
	return $$status; }; run_pytest

test: setup kube-tools prometheus ## Lint, type-check and run every test (unit and integration, real engines)
	$(MAKE) --no-print-directory lint
	$(PYTEST) tests/unit
	$(PYTEST) tests/integration

lint: venv ## ruff, mypy (strict) and the import contracts (dependencies point down)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

unit: setup ## Only the unit tests
	$(PYTEST) tests/unit

integration: setup kube-tools prometheus ## Only the integration tests (real Kafka, Spark, chDB, redis-server, chromium, kube-apiserver, promtool)
	$(PYTEST) tests/integration

setup: system-packages venv jars ## Install everything the commands need

# etcd, kube-apiserver, kube-controller-manager and kubectl for `rtap render --server`,
# built from Go modules once per machine (a cold build takes minutes; it shows progress).
kube-tools: ## Build the Kubernetes API server and etcd into the tool cache (needs Go >= 1.21)
	@scripts/build-go-tools kube-tools >/dev/null

# Prometheus and promtool (3.16.0) for the alert-rule tests, built the same way.
prometheus: ## Build Prometheus and promtool into the tool cache (needs Go >= 1.21)
	@scripts/build-go-tools prometheus >/dev/null

system-packages:
	@scripts/ensure-system-packages

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "error: Python 3.11+ is required (found $$($(PYTHON) --version)); set PYTHON=python3.11" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  { echo "error: cannot create a virtualenv: install python3-venv (sudo apt-get install -y python3-venv)" >&2; exit 1; }
	@echo "Installing Python packages into $(VENV) (first run: about 2 GB, a few minutes)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

jars: $(JARS)/kafka/.complete $(JARS)/spark/.complete $(JARS)/validator/.complete \
  $(JARS)/registry/.complete $(JARS)/connect/.complete

$(JARS)/kafka/.complete: jvm/kafka/pom.xml | system-packages
	@echo "Fetching the Kafka broker jars with Maven (first run: about 45 MB)"
	@rm -rf $(JARS)/kafka
	mvn --batch-mode --quiet -Dstyle.color=never -f jvm/kafka/pom.xml dependency:copy-dependencies \
	  -DincludeScope=runtime -DoutputDirectory=$(abspath $(JARS)/kafka)
	@touch $@

$(JARS)/spark/.complete: jvm/spark/pom.xml | system-packages
	@echo "Fetching Spark's Kafka connector jars with Maven"
	@rm -rf $(JARS)/spark
	mvn --batch-mode --quiet -Dstyle.color=never -f jvm/spark/pom.xml dependency:copy-dependencies \
	  -DincludeScope=runtime -DincludeArtifactIds=$(SPARK_CONNECTOR_ARTIFACTS) \
	  -DoutputDirectory=$(abspath $(JARS)/spark)
	@touch $@

$(JARS)/connect/.complete: jvm/connect/pom.xml | system-packages
	@echo "Fetching Kafka Connect's worker jars with Maven (about 35 MB)"
	@rm -rf $(JARS)/connect
	mvn --batch-mode --quiet -Dstyle.color=never -f jvm/connect/pom.xml dependency:copy-dependencies \
	  -DincludeScope=runtime -DoutputDirectory=$(abspath $(JARS)/connect)
	@touch $@

# The schema registry the cluster runs (Apicurio; the version of rtap:kafkaCluster's
# schemaRegistryImage), as its Quarkus application from Maven Central, for the test that
# runs it against a broker enforcing the program's ACLs. It needs Java 21 or newer.
REGISTRY_VERSION := $(shell sed -n 's/.*schemaRegistryImage: quay.io\/apicurio\/apicurio-registry:\([0-9.]*\).*/\1/p' Pulumi.yaml)
$(JARS)/registry/.complete: Pulumi.yaml | system-packages
	@echo "Fetching the Apicurio Registry $(REGISTRY_VERSION) application with Maven (about 160 MB)"
	@rm -rf $(JARS)/registry && mkdir -p $(JARS)/registry
	mvn --batch-mode --quiet -Dstyle.color=never dependency:copy \
	  -Dartifact=io.apicurio:apicurio-registry-app:$(REGISTRY_VERSION):tar.gz:all \
	  -DoutputDirectory=$(abspath $(JARS)/registry)
	tar -xzf $(JARS)/registry/apicurio-registry-app-$(REGISTRY_VERSION)-all.tar.gz -C $(JARS)/registry
	@rm $(JARS)/registry/apicurio-registry-app-$(REGISTRY_VERSION)-all.tar.gz
	@touch $@

# The event validator, a Spark UDF in Java (jvm/validator), compiles against the jars of
# the installed pyspark, so it always matches the Spark it runs in. (-path: the
# manifests of some of those jars name jars pyspark does not ship.)
VALIDATOR_SOURCES := $(wildcard jvm/validator/src/main/java/dev/rtap/streaming/*.java)
$(JARS)/validator/.complete: $(VALIDATOR_SOURCES) $(VENV)/.installed | system-packages
	@echo "Compiling the event validator (jvm/validator) against pyspark's jars"
	@rm -rf $(JARS)/validator && mkdir -p $(JARS)/validator/classes
	spark_jars=$$($(BIN)/python -c 'import pathlib, pyspark; print(pathlib.Path(pyspark.__file__).parent / "jars")'); \
	  javac --release 17 -Xlint:all,-path -Werror -d $(JARS)/validator/classes -cp "$$spark_jars/*" $(VALIDATOR_SOURCES)
	jar --create --file $(JARS)/validator/rtap-validator.jar -C $(JARS)/validator/classes .
	@rm -rf $(JARS)/validator/classes
	@touch $@

down: ## Stop whatever an earlier `make up` left running
	$(BIN)/rtap down --stack $(STACK)

clean: ## Remove the virtualenv, jars and all local data
	-$(BIN)/rtap down --stack $(STACK) --purge
	rm -rf $(VENV) .rtap
