# GoTo OAuth connector. `make run` and `make test` do everything on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CACHE        := $(CURDIR)/.cache
DDB_VERSION  := 2.9.30
DDB_DIR      := $(CACHE)/dynamodb-local
DDB_JAR      := $(DDB_DIR)/DynamoDBLocal.jar

export DYNAMODB_LOCAL_DIR := $(DDB_DIR)

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

# --- Running and testing ---------------------------------------------------

.PHONY: run
run: $(DDB_JAR) ## Run the connector locally end to end (DynamoDB Local, local GoTo, the real handlers) and print a connect link.
	go run ./cmd/local

.PHONY: test
test: $(DDB_JAR) ## Run the whole test suite (unit, integration against DynamoDB Local and gototest).
	go vet ./...
	go test -count=1 -timeout 15m ./...

.PHONY: test-race
test-race: $(DDB_JAR) ## The test suite under the race detector.
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

.PHONY: build
build: ## Build the three Lambda bootstraps (arm64) into build/<LogicalId>/bootstrap, as sam build does.
	@for fn in AuthorizeFunction CallbackFunction RefreshFunction; do \
	  $(MAKE) --no-print-directory build-$$fn ARTIFACTS_DIR=$(CURDIR)/build/$$fn || exit 1; done
	@ls -l build/*/bootstrap

.PHONY: clean
clean: ## Remove build output (keeps downloaded tools in .cache/).
	rm -rf build .aws-sam
