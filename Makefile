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

# local-kms (github.com/nsmithuk/local-kms): a KMS speaking AWS's protocol,
# binding the encryption context as AWS does; tests and `make run` encrypt
# tokens under it.
LOCAL_KMS_VERSION := v0.0.0-20260228092603-2a5e92d09ab6
LOCAL_KMS         := $(CACHE)/bin/local-kms
export LOCAL_KMS

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

$(LOCAL_KMS):
	@echo "installing local-kms $(LOCAL_KMS_VERSION) into $(CACHE)/bin"
	@GOBIN=$(CACHE)/bin go install github.com/nsmithuk/local-kms@$(LOCAL_KMS_VERSION)

.PHONY: local-kms
local-kms: $(LOCAL_KMS) ## Install local-kms (the KMS emulator) into .cache/bin.

# Debian's chromium for the browser test (root can apt-get install here).
.PHONY: chromium
chromium: ## Install Debian's chromium when it is missing (browser test).
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium"; \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
	  $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

TOOLS := $(DDB_JAR) $(RIE) $(LOCAL_KMS) chromium

# --- Running and testing ---------------------------------------------------

.PHONY: run
run: $(DDB_JAR) $(LOCAL_KMS) ## Run the connector locally end to end (DynamoDB Local, local-kms, local GoTo, the real handlers) and print a connect link.
	@go build -o $(CACHE)/bin/goto-connector-local ./cmd/local
	@exec $(CACHE)/bin/goto-connector-local

.PHONY: test
test: $(TOOLS) lint-template deploy-rehearsal ## Run the whole test suite (template lint, deploy rehearsal, unit, integration against DynamoDB Local and gototest).
	go vet ./...
	go test -count=1 -timeout 15m ./...

# --- make fuzz ---
# Every fuzz target (func FuzzXxx in a _test.go file) for FUZZTIME each. Their
# seed corpora in testdata/fuzz/ run with every `go test`; an input that fails
# here is written there too, so it becomes a regression test: commit it with
# the fix.
FUZZTIME ?= 60s

.PHONY: fuzz
fuzz: $(DDB_JAR) ## Run each fuzz target for FUZZTIME (default 60s): link verifier, token parser, authorize and callback handlers.
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' pkg internal | sort); do \
	  for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$name in ./$$(dirname $$f) for $(FUZZTIME)"; \
	    go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f); \
	  done; done

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

.PHONY: build-AuthorizeFunction build-CallbackFunction build-RefreshFunction build-ConnectionsFunction
build-AuthorizeFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/authorize
build-CallbackFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/callback
build-RefreshFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/refresh
build-ConnectionsFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/connections

# The cold-start benchmark builds its hello worlds with the same command:
#   make build-package PKG=./internal/testing/bench/hello/plain ARTIFACTS_DIR=dir
.PHONY: build-package
build-package:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap $(PKG)

.PHONY: build
build: ## Build the four Lambda bootstraps (arm64) into build/<LogicalId>/bootstrap, as sam build does.
	@for fn in AuthorizeFunction CallbackFunction RefreshFunction ConnectionsFunction; do \
	  $(MAKE) --no-print-directory build-$$fn ARTIFACTS_DIR=$(CURDIR)/build/$$fn || exit 1; done
	@ls -l build/*/bootstrap

.PHONY: clean
clean: ## Remove build output (keeps downloaded tools in .cache/).
	rm -rf build .aws-sam

# --- make bench ---

# Every figure of BENCHMARKS.md in one run (issue 12): the sweep at scale
# and against the naive one, the sweep under DynamoDB and GoTo latency, cold
# starts of the bootstraps under the emulator against hello worlds, the warm
# path counted at the endpoints (one go test run, -benchtime 1x), then the
# connect handlers' latency and allocations (-benchmem, -cpuprofile). The
# benchmarks write Markdown fragments into $(BENCH_OUT); the report command
# puts them into BENCHMARKS.md's generated section. Raw output in
# .cache/bench.txt. BENCH_* variables shrink it for a quick check (see
# BENCHMARKS.md).
BENCH_OUT              := $(CACHE)/bench
BENCH_HANDLER_REQUESTS ?= 2000
.PHONY: bench
bench: $(DDB_JAR) $(RIE) $(LOCAL_KMS) ## Run every benchmark (about 12 min) and write the figures into BENCHMARKS.md; raw output in .cache/bench.txt.
	@rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT)
	@set -o pipefail; start=$$(date +%s); \
	machine="$$(nproc) vCPUs ($$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $$(free -g | awk '/^Mem:/{print $$2}') GiB, $$(uname -sm), $$(go version | cut -d' ' -f3), $$(java -version 2>&1 | head -1), DynamoDB Local from npm amplify-dynamodb-simulator@$(DDB_VERSION), load average at the start $$(cut -d' ' -f1-3 /proc/loadavg)"; \
	{ echo "# $$(date -u +%FT%TZ) $$machine"; \
	  BENCH_OUT=$(BENCH_OUT) go test -count=1 -run '^$$' -bench '^Benchmark(Sweep|Naive|SweepLatency|ColdStart|WarmPath|TokenRouteOverhead)$$' -benchtime 1x -timeout 30m ./internal/testing/bench/ && \
	  BENCH_OUT=$(BENCH_OUT) go test -count=1 -run '^$$' -bench '^BenchmarkHandler$$' -benchmem -benchtime $(BENCH_HANDLER_REQUESTS)x \
	    -cpuprofile $(BENCH_OUT)/handlers.cpu.pprof -o $(BENCH_OUT)/bench.test -timeout 15m ./internal/testing/bench/; } 2>&1 | tee $(CACHE)/bench.txt && \
	go tool pprof -top -cum -nodecount=25 -focus 'connect\.\(\*App\)' $(BENCH_OUT)/bench.test $(BENCH_OUT)/handlers.cpu.pprof 2>/dev/null | sed -n '/flat%/,$$p' > $(BENCH_OUT)/handlers.cpu.txt && \
	go run ./internal/testing/bench/report -dir $(BENCH_OUT) -out BENCHMARKS.md -command "make bench" \
	  -machine "$$machine; load average at the end $$(cut -d' ' -f1-3 /proc/loadavg)" -seconds $$(( $$(date +%s) - start )) && \
	echo "BENCHMARKS.md updated ($$(( $$(date +%s) - start )) s)"

# --- make simulate ---
# The refresh scheduling over 60 simulated days per scenario (issue 16,
# internal/testing/simulate): prints one line per scenario, writes the table
# into BENCHMARKS.md, the sizing table into docs/deploy.md and one plot per
# scenario into docs/img/simulate-<scenario>.png. No DynamoDB, no network.
.PHONY: simulate
simulate: ## Simulate refresh scheduling from 1,000 to 10 million connections (under 2 minutes on 2 idle vCPUs); writes BENCHMARKS.md, docs/deploy.md's sizing table, docs/img/.
	@start=$$(date +%s); \
	go run ./internal/testing/simulate/report -bench BENCHMARKS.md -deploy docs/deploy.md -img docs/img \
	  -machine "$$(nproc) vCPUs ($$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $$(free -g | awk '/^Mem:/{print $$2}') GiB, $$(uname -sm), $$(go version | cut -d' ' -f3), load average at the start $$(cut -d' ' -f1-3 /proc/loadavg)" && \
	echo "BENCHMARKS.md, docs/deploy.md and docs/img/simulate-*.png updated ($$(( $$(date +%s) - start )) s with the build)"

# The simulator against the real sweep (BenchmarkScheduleModel in
# internal/testing/bench): SIMCHECK_CONNECTIONS (default 50,000) connections
# in DynamoDB Local with lives compressed to seconds, a burst and a GoTo
# outage, through the real TokenSource.Sweep; then the simulator on the same
# inputs. Writes the comparison and the due index's read units into
# BENCHMARKS.md. About 20 minutes; SIMCHECK_* variables change the inputs
# (see the benchmark).
.PHONY: simulate-check
simulate-check: $(DDB_JAR) ## Check the simulator against the real sweep at 50,000 connections (about 16 min); writes BENCHMARKS.md.
	SIMCHECK_WRITE=$(CURDIR)/BENCHMARKS.md go test -count=1 -run '^$$' -bench '^BenchmarkScheduleModel$$' -benchtime 1x -timeout 60m -v ./internal/testing/bench/ 2>&1 | tee $(CACHE)/simulate-check.txt

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
	  echo "usage: make invoke FN=AuthorizeFunction|CallbackFunction|RefreshFunction|ConnectionsFunction EVENT=events/<file>.json" >&2; exit 2; fi
	@if [ -z "$(INVOKE_RIE)" ] && command -v sam >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	  sam build $(FN) >&2 && sam local invoke $(FN) -e $(EVENT) --env-vars $(ENV_VARS); \
	else \
	  $(MAKE) -s --no-print-directory $(RIE) $(DDB_JAR) >&2 && \
	  go run ./cmd/invoke -fn $(FN) -event $(EVENT) -env-vars $(ENV_VARS); \
	fi

# --- Production readiness: template lint, deploy rehearsal, deploy ----------
# The Python tools (cfn-lint, aws-sam-translator, moto[server], boto3) come
# from the system python3, else from .cache/venv (scripts/python-tools.sh
# installs them with pip). `make test` runs lint-template and deploy-rehearsal.
PYTHON_TOOLS = $$(scripts/python-tools.sh)
SAM_ENV ?= dev

.PHONY: python-tools lint-template deploy-rehearsal deploy
python-tools: ## Check or install cfn-lint, aws-sam-translator and moto_server (.cache/venv when the system lacks them).
	@scripts/python-tools.sh

lint-template: ## cfn-lint template.yaml (what sam validate --lint runs); warnings and informational findings fail too.
	@PY=$(PYTHON_TOOLS) && $$PY -c 'import sys; from cfnlint.runner import main; sys.exit(main())' --include-checks I -- template.yaml && \
	  echo "cfn-lint: template.yaml is clean"

deploy-rehearsal: ## Build as sam build does, SAM-transform and deploy template.yaml into moto_server; check every resource.
	@PY=$(PYTHON_TOOLS) && $$PY scripts/deploy_rehearsal.py --template template.yaml --config samconfig.toml --config-env dev

deploy: ## sam build and sam deploy with samconfig.toml's SAM_ENV (dev; SAM_ENV=prod once you uncommented it).
	@command -v sam >/dev/null 2>&1 || { \
	  echo "make deploy needs the AWS SAM CLI (sam), which is not on PATH. Install it:" >&2; \
	  echo "  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html" >&2; \
	  echo "  (Linux: the zip installer from that page, or pip install aws-sam-cli), with AWS credentials for the target account." >&2; \
	  echo "sam build needs only Go and make here (BuildMethod makefile, no container)." >&2; \
	  exit 1; }
	sam build --config-env $(SAM_ENV)
	sam deploy --config-env $(SAM_ENV)

# Counts the AWS calls of one connect and one refresh (BENCHMARKS.md, Cost),
# and the KMS requests of 1,000 connects and refreshes under TOKEN_KMS_KEY_ID
# (local-kms behind a counting proxy), whose figures and monthly price it
# writes into BENCHMARKS.md's generated KMS section.
.PHONY: cost
cost: $(DDB_JAR) $(LOCAL_KMS) ## Measure DynamoDB requests, log bytes and KMS requests per connect and per refresh; writes BENCHMARKS.md's KMS figures.
	COST_WRITE=$(CURDIR)/BENCHMARKS.md go test -count=1 -v -run '^(TestCallCounts|TestKMSCallCounts)$$' -timeout 15m ./internal/testing/cost/

# --- make soak ---
# The fault soak of issue 7 (internal/testing/soak): SOAK_CONNECTIONS
# connections with single-use refresh tokens, one sweep process and three
# TokenSource processes, random faults (GoTo 5xx/429/slow/garbage, DynamoDB
# cut and throttled through internal/testing/faultproxy, SIGKILL of a
# refresher) for SOAK_DURATION, then an audit. Loopback only; exits 1 when a
# connection is lost or a refresh token is spent twice. Other SOAK_*
# variables: see internal/testing/soak/settings.go.
SOAK_DURATION    ?= 4m
SOAK_CONNECTIONS ?= 2000

.PHONY: soak
soak: $(DDB_JAR) ## Fault soak: SOAK_CONNECTIONS connections, faults for SOAK_DURATION, audit table (also in .cache/soak.txt).
	@go build -o $(CACHE)/bin/soak ./internal/testing/soak/cmd
	SOAK_DURATION=$(SOAK_DURATION) SOAK_CONNECTIONS=$(SOAK_CONNECTIONS) $(CACHE)/bin/soak
