# troupe — every command works on a fresh clone (see README.md).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
PNPM_VERSION := 10.34.9
# troupe's runtime is the Node release the images ship (Dockerfile's FROM): make installs it into
# the repo (.tools/node, from the npm registry's node-<platform>-<arch> package) and puts it first
# on PATH for every recipe, so tests, dev and bench run on it whatever Node the machine has.
NODE_VERSION := $(shell sed -n 's/^FROM node:\([0-9.]*\)-.*/\1/p' Dockerfile | head -1)
NODE_PLATFORM := $(shell node -p 'process.platform + "-" + process.arch' 2>/dev/null || echo linux-x64)
NODE_DIR := $(CURDIR)/.tools/node
NODE := $(NODE_DIR)/bin/node
export PATH := $(NODE_DIR)/bin:$(PATH)
# pnpm is installed into the repo (.tools/), never globally: no sudo, no corepack, exact version.
PNPM := $(CURDIR)/.tools/node_modules/.bin/pnpm
SERVICES := order payment inventory notification

.PHONY: install build dev access contracts test test-unit test-tools test-int test-e2e test-faults env up down bench clean

$(NODE): Dockerfile
	@echo "installing Node $(NODE_VERSION) ($(NODE_PLATFORM)) into .tools/node"
	npm install --no-save --no-package-lock --prefix .tools/node-package node-$(NODE_PLATFORM)@$(NODE_VERSION) >/dev/null
	mkdir -p $(NODE_DIR)/bin
	ln -sf $(CURDIR)/.tools/node-package/node_modules/node-$(NODE_PLATFORM)/bin/node $(NODE)
	@test "$$($(NODE) --version)" = "v$(NODE_VERSION)"

$(PNPM): $(NODE)
	npm install --no-save --no-package-lock --prefix .tools pnpm@$(PNPM_VERSION) >/dev/null
	@$(PNPM) --version >/dev/null

node_modules/.modules.yaml: $(NODE) $(PNPM) pnpm-lock.yaml package.json $(wildcard services/*/package.json shared/*/package.json)
	$(PNPM) install --frozen-lockfile
	@touch $@

## install: dependencies (pnpm included) and a build of every package; safe to run twice
install: node_modules/.modules.yaml build

build: node_modules/.modules.yaml
	$(PNPM) exec tsc -b

## contracts: regenerate docs/contracts/{asyncapi,openapi}.json from the zod contracts
contracts: build
	node scripts/contracts.js

## access: on the local RabbitMQ and Postgres, each service's own broker user and database role,
## and its database (idempotent; the passwords live in .tools/local-credentials.json)
access: install
	node scripts/local-access.js

## dev: the card gateway, the four services, the observer (http://127.0.0.1:3005/map) and the page
## (http://127.0.0.1:8080) in the foreground against a local RabbitMQ and Postgres (no Docker)
dev: access
	node scripts/dev.js gateway $(SERVICES) observer web

## test: every test against a real broker and database: unit, tools, integration and end-to-end first,
## then the fault-injection suite on its own (it kills processes and stops the broker). The tests'
## own types are checked first (the build leaves test files out)
test: install
	$(PNPM) exec tsc -p tsconfig.tests.json
	VITEST_RESULTS=main $(PNPM) exec vitest run --project unit --project tools --project int --project e2e
	VITEST_RESULTS=faults $(PNPM) exec vitest run --project faults

test-faults: install
	$(PNPM) exec vitest run --project faults

test-unit: install
	$(PNPM) exec vitest run --project unit
test-tools: install
	$(PNPM) exec vitest run --project tools
test-int: install
	$(PNPM) exec vitest run --project int
test-e2e: install
	$(PNPM) exec vitest run --project e2e

## env: the secrets docker-compose.yml requires, generated into .env (git-ignored, mode 600);
## only the missing ones, never a value already there
env:
	bash scripts/make-env.sh

## up: the whole demo in Docker (broker, Postgres, services, Mailpit, Jaeger, Prometheus, Grafana)
up: env
	docker compose up --build --detach --wait
	@bash scripts/print-urls.sh

down:
	docker compose down

## bench: the benchmark (see docs/benchmarks.md)
bench: install
	node scripts/bench.js

clean:
	$(PNPM) exec tsc -b --clean || true
	rm -rf node_modules services/*/node_modules shared/*/node_modules .tools .test-results
