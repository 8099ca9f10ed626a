# troupe — every command works on a fresh clone (see README.md).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
PNPM_VERSION := 10.34.9
# pnpm is installed into the repo (.tools/), never globally: no sudo, no corepack, exact version.
PNPM := $(CURDIR)/.tools/node_modules/.bin/pnpm
SERVICES := order payment inventory notification

.PHONY: install build dev databases contracts test test-unit test-int test-e2e test-faults up down bench clean

$(PNPM):
	npm install --no-save --no-package-lock --prefix .tools pnpm@$(PNPM_VERSION) >/dev/null
	@$(PNPM) --version >/dev/null

node_modules/.modules.yaml: $(PNPM) pnpm-lock.yaml package.json $(wildcard services/*/package.json shared/*/package.json)
	$(PNPM) install --frozen-lockfile
	@touch $@

## install: dependencies (pnpm included) and a build of every package; safe to run twice
install: node_modules/.modules.yaml build

build: node_modules/.modules.yaml
	$(PNPM) exec tsc -b

## contracts: regenerate docs/contracts/{asyncapi,openapi}.json from the zod contracts
contracts: build
	node scripts/contracts.js

## databases: create the four service databases on the local Postgres if missing
databases: install
	node scripts/create-databases.js $(SERVICES)

## dev: the four services and the page (http://127.0.0.1:8080) in the foreground against a local
## RabbitMQ and Postgres (no Docker)
dev: databases
	node scripts/dev.js $(SERVICES) web

## test: every test against a real broker and database: unit, integration and end-to-end first,
## then the fault-injection suite on its own (it kills processes and stops the broker)
test: install
	VITEST_RESULTS=main $(PNPM) exec vitest run --project unit --project int --project e2e
	VITEST_RESULTS=faults $(PNPM) exec vitest run --project faults

test-faults: install
	$(PNPM) exec vitest run --project faults

test-unit: install
	$(PNPM) exec vitest run --project unit
test-int: install
	$(PNPM) exec vitest run --project int
test-e2e: install
	$(PNPM) exec vitest run --project e2e

## up: the whole demo in Docker (broker, Postgres, services, Mailpit, Jaeger, Prometheus, Grafana)
up:
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
