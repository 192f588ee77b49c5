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
