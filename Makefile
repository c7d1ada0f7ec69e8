# Developer entry points. `make secrets-sync` is the one the ops runbook names.
.PHONY: build test secrets-sync demo bench

# Extra arguments for secrets-sync, e.g. make secrets-sync ARGS=--skip-without-identity
ARGS ?=

build:
	npx tsc -p tsconfig.json

test:
	bash scripts/test.sh

secrets-sync:
	bash scripts/secrets-sync.sh $(ARGS)

demo: build
	node dist/src/main.js demo

bench:
	npm run bench
