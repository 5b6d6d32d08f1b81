# The two commands: `make demo` and `make test`. Everything else is a helper target.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: demo test build build-release test-rust

demo: build-release
	./target/release/fedproof bench prover --trainers 10 --params 2410 --malicious 1 --json target/bench-prover.json

test: test-rust

build:
	$(CARGO) build --workspace --all-targets

build-release:
	$(CARGO) build --release -p fedproof

test-rust:
	$(CARGO) test --workspace
