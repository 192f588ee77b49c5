# GoTo OAuth connector. `make run` and `make test` do everything on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CACHE        := $(CURDIR)/.cache
DDB_VERSION  := 2.9.30
DDB_DIR      := $(CACHE)/dynamodb-local
DDB_JAR      := $(DDB_DIR)/DynamoDBLocal.jar

export DYNAMODB_LOCAL_DIR := $(DDB_DIR)

# The AWS Lambda Runtime Interface Emulator (what `sam local invoke` runs
# inside its container), built from the Go module proxy at a pinned version.
RIE_VERSION  := v0.0.0-20261030222936-bef5c4ba774d
RIE          := $(CACHE)/bin/aws-lambda-rie
export AWS_LAMBDA_RIE := $(RIE)

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# DynamoDB Local (the official AWS emulator) ships inside the npm package
# amplify-dynamodb-simulator; `npm pack` fetches it without its dependencies.
$(DDB_JAR):
	@mkdir -p $(CACHE)/npm
	@echo "installing DynamoDB Local (npm amplify-dynamodb-simulator@$(DDB_VERSION)) into $(DDB_DIR)"
	@cd $(CACHE)/npm && npm pack --silent amplify-dynamodb-simulator@$(DDB_VERSION) >/dev/null
	@rm -rf $(DDB_DIR).tmp && mkdir -p $(DDB_DIR).tmp
	@tar -xzf $(CACHE)/npm/amplify-dynamodb-simulator-$(DDB_VERSION).tgz -C $(DDB_DIR).tmp
	@rm -rf $(DDB_DIR) && mv $(DDB_DIR).tmp/package/emulator $(DDB_DIR) && rm -rf $(DDB_DIR).tmp
	@command -v java >/dev/null || { echo "java is needed for DynamoDB Local (apt-get install -y openjdk-17-jre-headless)"; exit 1; }

.PHONY: dynamodb-local
dynamodb-local: $(DDB_JAR) ## Install DynamoDB Local into .cache/.

$(RIE):
	@echo "installing the Lambda Runtime Interface Emulator $(RIE_VERSION) into $(CACHE)/bin"
	@GOBIN=$(CACHE)/bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

.PHONY: rie
rie: $(RIE) ## Install the Lambda Runtime Interface Emulator into .cache/bin.

# Debian's chromium for the browser test (root can apt-get install here).
.PHONY: chromium
chromium: ## Install Debian's chromium when it is missing (browser test).
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium"; \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
	  $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

TOOLS := $(DDB_JAR) $(RIE) chromium

# --- Running and testing ---------------------------------------------------

.PHONY: run
run: $(DDB_JAR) ## Run the connector locally end to end (DynamoDB Local, local GoTo, the real handlers) and print a connect link.
	@go build -o $(CACHE)/bin/goto-connector-local ./cmd/local
	@exec $(CACHE)/bin/goto-connector-local

.PHONY: test
test: $(TOOLS) ## Run the whole test suite (unit, integration against DynamoDB Local and gototest).
	go vet ./...
	go test -count=1 -timeout 15m ./...

.PHONY: test-race
test-race: $(TOOLS) ## The test suite under the race detector.
	go test -count=1 -race -timeout 20m ./...

.PHONY: link
link: ## Mint a connect link: make link CONNECTION_ID=x [RETURN_TO=url] [AUTHORIZE_URL=url] (key from GOTO_LINK_SIGNING_KEY).
	go run ./cmd/connect-link -connection-id "$(CONNECTION_ID)" $(if $(RETURN_TO),-return-to "$(RETURN_TO)") $(if $(AUTHORIZE_URL),-authorize-url "$(AUTHORIZE_URL)")

# --- Lambda builds (sam build calls build-<LogicalId> with ARTIFACTS_DIR) ---

LAMBDA_GOOS   := linux
LAMBDA_GOARCH ?= arm64
LAMBDA_FLAGS  := -tags lambda.norpc -trimpath -ldflags="-s -w"
LAMBDA_BUILD   = CGO_ENABLED=0 GOOS=$(LAMBDA_GOOS) GOARCH=$(LAMBDA_GOARCH) go build $(LAMBDA_FLAGS)

.PHONY: build-AuthorizeFunction build-CallbackFunction build-RefreshFunction
build-AuthorizeFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/authorize
build-CallbackFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/callback
build-RefreshFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/refresh

# The cold-start benchmark builds its hello worlds with the same command:
#   make build-package PKG=./internal/testing/bench/hello/plain ARTIFACTS_DIR=dir
.PHONY: build-package
build-package:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap $(PKG)

.PHONY: build
build: ## Build the three Lambda bootstraps (arm64) into build/<LogicalId>/bootstrap, as sam build does.
	@for fn in AuthorizeFunction CallbackFunction RefreshFunction; do \
	  $(MAKE) --no-print-directory build-$$fn ARTIFACTS_DIR=$(CURDIR)/build/$$fn || exit 1; done
	@ls -l build/*/bootstrap

.PHONY: clean
clean: ## Remove build output (keeps downloaded tools in .cache/).
	rm -rf build .aws-sam

# --- make bench ---

# Refresh sweep benchmarks against DynamoDB Local and gototest (answers
# delayed by 50 ms): see BENCHMARKS.md. BENCH_* variables change the sizes.
.PHONY: bench
bench: $(DDB_JAR) ## Benchmark the refresh sweep (10,000 connections; rate limit on/off; naive); output in .cache/bench.txt.
	@mkdir -p $(CACHE)
	set -o pipefail; { echo "# $$(date -u +%FT%TZ) nproc=$$(nproc) mem=$$(free -g | awk '/^Mem:/{print $$2}')GiB $$(go version) DynamoDB Local from npm amplify-dynamodb-simulator@$(DDB_VERSION)"; \
	  go test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 30m ./internal/testing/bench/; } | tee $(CACHE)/bench.txt

# --- make invoke ---
# Invoke one function locally, as `sam local invoke` does:
#   make invoke FN=AuthorizeFunction EVENT=events/authorize.json
# With the SAM CLI on PATH and a Docker engine that answers, SAM does it
# (sam build, then sam local invoke with env.json). Otherwise cmd/invoke
# builds the same bootstrap for this machine's architecture into
# .cache/invoke/<FN>/, runs it under the Lambda Runtime Interface Emulator
# with env.json's variables (starting DynamoDB Local with the table when
# env.json points at a local endpoint that does not answer) and prints the
# function's response on stdout, logs on stderr. INVOKE_RIE=1 forces that path.
ENV_VARS ?= env.json

.PHONY: invoke
invoke: ## Invoke a function locally: make invoke FN=<LogicalId> EVENT=events/<file>.json (sam local invoke, else the emulator).
	@if [ -z "$(FN)" ] || [ -z "$(EVENT)" ]; then \
	  echo "usage: make invoke FN=AuthorizeFunction|CallbackFunction|RefreshFunction EVENT=events/<file>.json" >&2; exit 2; fi
	@if [ -z "$(INVOKE_RIE)" ] && command -v sam >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	  sam build $(FN) >&2 && sam local invoke $(FN) -e $(EVENT) --env-vars $(ENV_VARS); \
	else \
	  $(MAKE) -s --no-print-directory $(RIE) $(DDB_JAR) >&2 && \
	  go run ./cmd/invoke -fn $(FN) -event $(EVENT) -env-vars $(ENV_VARS); \
	fi
