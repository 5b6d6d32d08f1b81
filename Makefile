# The two commands: `make demo` and `make test`. Everything else is a helper target.
SHELL := /bin/bash
CARGO ?= cargo
NPM ?= npm

CONTRACTS := contracts
# forge from npm, offline, with the npm compiler behind contracts/solc.js (foundry.toml says the
# same; the flags keep the invocation explicit).
FORGE := cd $(CONTRACTS) && ./node_modules/.bin/forge
FORGE_FLAGS := --offline --use ./solc.js

.PHONY: demo test build build-release test-rust contracts-deps test-contracts contracts-fixtures

demo: contracts-deps build-release
	./target/release/fedproof bench prover --trainers 10 --params 2410 --malicious 1 --json target/bench-prover.json

test: contracts-deps test-rust test-contracts

build:
	$(CARGO) build --workspace --all-targets

build-release:
	$(CARGO) build --release -p fedproof

# The snarkjs interop test runs the npm snarkjs, so the Rust tests need the npm toolchain too.
test-rust: contracts-deps
	$(CARGO) test --workspace

# npm's hidden lockfile in node_modules is rewritten by every install: when it is older than
# package-lock.json (or missing), node_modules is out of date.
contracts-deps: $(CONTRACTS)/node_modules/.package-lock.json

$(CONTRACTS)/node_modules/.package-lock.json: $(CONTRACTS)/package-lock.json
	$(NPM) ci --prefix $(CONTRACTS)
	@touch $@

test-contracts: contracts-deps
	$(FORGE) test $(FORGE_FLAGS)

# Rewrites the generated verifier and proof fixture the forge tests use.
contracts-fixtures:
	$(CARGO) run -p fedproof-prover --example toy_verifier_fixture
