# The two commands: `make demo` and `make test`. Everything else is a helper target.
SHELL := /bin/bash
CARGO ?= cargo
NPM ?= npm

CONTRACTS := contracts
# forge from npm, offline, with the npm compiler behind contracts/solc.js (foundry.toml says the
# same; the flags keep the invocation explicit).
FORGE := cd $(CONTRACTS) && ./node_modules/.bin/forge
FORGE_FLAGS := --offline --use ./solc.js

# The Python package (node/python, PyO3 + maturin) in a virtual environment of its own, with
# maturin, pytest, numpy, scikit-learn and Flower (with its Ray simulation runtime) from PyPI.
# Override PYENV to install it into yours.
PYENV ?= target/pyenv
PYENV_ABS = $(abspath $(PYENV))

.PHONY: demo test build build-demo build-release test-rust contracts-deps test-contracts contracts-fixtures \
	contracts-build contracts-abi contracts-abi-check bench-gas dashboard-deps chromium test-browser \
	python test-python schemathesis

# The whole marketplace on a local anvil, then its chain, API and dashboard stay up (Ctrl-C ends).
DEMO_LISTEN ?= 127.0.0.1:8080
demo: contracts-deps dashboard-deps build-demo
	./target/demo/fedproof demo --report target/demo.json --serve $(DEMO_LISTEN)

test: contracts-deps test-rust test-contracts test-python

build:
	$(CARGO) build --workspace --all-targets

# The demo's build: the `demo` profile in Cargo.toml (proving and training fully optimised, the
# I/O-bound rest lightly), so a cold `make demo` reaches its first round sooner.
build-demo:
	$(CARGO) build --profile demo -p fedproof

build-release:
	$(CARGO) build --release -p fedproof

# The snarkjs interop test runs the npm snarkjs, and the dashboard's browser test (a cargo test of
# web-api) runs node with the dashboard's npm packages and Debian's chromium.
test-rust: contracts-deps dashboard-deps chromium schemathesis
	$(CARGO) test --workspace

# Fuzzing (node/fuzz, README "Fuzzing"): each cargo-fuzz target in turn for FUZZ_SECONDS, at the
# lowest priority, on nightly and in a target directory of its own (never the workspace's), from
# its corpus node/fuzz/corpus/<target> and its former crashes node/fuzz/crashes/<target>; then
# the corpus minimised in place to the fewest inputs that cover the same edges. `make test`
# replays both (cargo test -p fedproof-fuzz). libFuzzer's summary of each run goes to
# target/fuzz/<target>.log, a crashing input to node/fuzz/cargo-fuzz/artifacts/<target>/. Needs
# `cargo install cargo-fuzz --locked` and `rustup toolchain install nightly`.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= blob_codec sealed_blob snarkjs_json key_file signed_upload cid
FUZZ := CARGO_TARGET_DIR=$(abspath target/fuzz) nice -n 19 $(CARGO) +nightly fuzz
FUZZ_FLAGS := --fuzz-dir node/fuzz/cargo-fuzz --sanitizer none
.PHONY: fuzz
fuzz:
	mkdir -p target/fuzz
	set -eo pipefail; for t in $(FUZZ_TARGETS); do \
	  $(FUZZ) run $(FUZZ_FLAGS) $$t node/fuzz/corpus/$$t $$(test -d node/fuzz/crashes/$$t && echo node/fuzz/crashes/$$t) \
	    -- -max_total_time=$(FUZZ_SECONDS) 2>&1 | tee target/fuzz/$$t.log; \
	  $(FUZZ) cmin $(FUZZ_FLAGS) $$t node/fuzz/corpus/$$t -- -set_cover_merge=1 -use_counters=0; \
	done

# npm's hidden lockfile in node_modules is rewritten by every install: when it is older than
# package-lock.json (or missing), node_modules is out of date.
contracts-deps: $(CONTRACTS)/node_modules/.package-lock.json

$(CONTRACTS)/node_modules/.package-lock.json: $(CONTRACTS)/package-lock.json
	$(NPM) ci --prefix $(CONTRACTS)
	@touch $@

test-contracts: contracts-abi-check
	$(FORGE) test $(FORGE_FLAGS)

contracts-build: contracts-deps
	$(FORGE) build $(FORGE_FLAGS)

# The ABIs and bytecode Rust uses are committed under contracts/abi: `contracts-abi` rewrites
# them, `contracts-abi-check` (part of `make test`) fails if they differ from a fresh build.
contracts-abi: contracts-build
	node $(CONTRACTS)/scripts/abi.js

contracts-abi-check: contracts-build
	node $(CONTRACTS)/scripts/abi.js --check

# Gas of finalizeRound (real proofs, n = 4, 10, 16, and a chunked 32 x 100,000 round), of a
# chunk's challenge, answer and refutation, and of reliability updates: a table, then one JSON
# line.
bench-gas: contracts-deps
	set -o pipefail; $(FORGE) test $(FORGE_FLAGS) --match-contract GasBench -vv | node scripts/bench-gas.js

# Rewrites the generated verifiers and proof fixtures the forge tests use: the toy verifier, the
# round verifiers for n = 4, 10, 16 trainers (8 parameters: gas depends on n only) and the demo
# shape (10 x 2410; its setup takes about 100 s and the keys about 180 MB under
# $(FIXTURE_KEYS), which are never committed), with the generic RoundVerifier's constructor
# arguments for the same keys (verifier_args_*.json).
FIXTURE_KEYS ?= .fedproof/keys
FIXTURE_TMP ?= target/contract-fixtures
contracts-fixtures: build-release
	$(CARGO) run -p fedproof-prover --example toy_verifier_fixture
	set -e; for shape in n4:4:8:RoundVerifierN4 n10:10:8:RoundVerifierN10 n16:16:8:RoundVerifierN16 \
	    demo:10:2410:RoundVerifierDemo; do \
	  IFS=: read name n d contract <<< "$$shape"; \
	  ./target/release/fedproof prover export --trainers $$n --params $$d --malicious 1 --seed 1 \
	    --keys $(FIXTURE_KEYS) --out $(FIXTURE_TMP)/$$name --contract $$contract; \
	  cp $(FIXTURE_TMP)/$$name/$$contract.sol $(CONTRACTS)/src/generated/; \
	  cp $(FIXTURE_TMP)/$$name/round.json $(CONTRACTS)/test/fixtures/round_$$name.json; \
	  cp $(FIXTURE_TMP)/$$name/verifier_args.json $(CONTRACTS)/test/fixtures/verifier_args_$$name.json; \
	done
	# Rounds 0 and 1 of one n = 4 job, slot 1 declared unavailable, round 1 starting from round
	# 0's model (--chained); the forge tests verify them with the generic RoundVerifier.
	set -e; for round in 0 1; do \
	  ./target/release/fedproof prover export --trainers 4 --params 8 --malicious 1 --seed 1 \
	    --round $$round --unavailable 1 --chained --keys $(FIXTURE_KEYS) --out $(FIXTURE_TMP)/chain$$round; \
	  cp $(FIXTURE_TMP)/chain$$round/round.json $(CONTRACTS)/test/fixtures/round_n4_chain$$round.json; \
	done
	cp $(FIXTURE_TMP)/chain0/verifier_args.json $(CONTRACTS)/test/fixtures/verifier_args_n4_chain.json
	# Chunked rounds (prover/src/chunked): n = 4 x 24 in 3 chunks of 8 with every chunk proven
	# (JobMarketChunked.t.sol), and the gas bench's 32 x 100,000 in 40 chunks of 2,500 with
	# chunk 0 proven (its chunk key's setup takes about a minute and 3 GB).
	set -e; for shape in chunked_n4:4:24:8:ChunkedVerifierN4: chunked_n32:32:100000:2500:ChunkedVerifierN32:0; do \
	  IFS=: read name n d chunk contract proven <<< "$$shape"; \
	  ./target/release/fedproof prover export --trainers $$n --params $$d --chunk $$chunk \
	    $${proven:+--proven-chunks $$proven} --malicious 1 --seed 1 --keys $(FIXTURE_KEYS) \
	    --out $(FIXTURE_TMP)/$$name --contract $$contract; \
	  cp $(FIXTURE_TMP)/$$name/$$contract.sol $(FIXTURE_TMP)/$$name/$${contract}Chunk.sol $(CONTRACTS)/src/generated/; \
	  cp $(FIXTURE_TMP)/$$name/round.json $(CONTRACTS)/test/fixtures/round_$$name.json; \
	done

# The dashboard's npm packages (ethers, Chart.js, playwright-core); their postinstall script copies
# the browser builds into web-api/dashboard/vendor/, which the server serves as /vendor/.
DASHBOARD := web-api/dashboard
CHROMIUM ?= /usr/bin/chromium

dashboard-deps: $(DASHBOARD)/node_modules/.package-lock.json
	@test -f $(DASHBOARD)/vendor/ethers.min.js || $(NPM) run --prefix $(DASHBOARD) vendor

$(DASHBOARD)/node_modules/.package-lock.json: $(DASHBOARD)/package-lock.json
	$(NPM) ci --prefix $(DASHBOARD)
	@touch $@

# Debian's chromium for the browser test (playwright-core drives it; it downloads no browser).
chromium:
	@test -x $(CHROMIUM) || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# The browser test alone: anvil with a settled round, the real server, then
# web-api/dashboard/test/browser.mjs in headless chromium (screenshots in target/screenshots/).
test-browser: dashboard-deps chromium
	$(CARGO) test -p fedproof-web-api --test dashboard_browser

# schemathesis (PyPI) in $(PYENV) for web-api/tests/openapi_conformance.rs, which runs every
# check of it against /api/openapi.json; pinned, so a new release cannot change what passes.
SCHEMATHESIS_VERSION ?= 4.32.5
schemathesis:
	test -x $(PYENV)/bin/python || python3 -m venv $(PYENV)
	$(PYENV)/bin/pip install --quiet --disable-pip-version-check "schemathesis==$(SCHEMATHESIS_VERSION)"

# `import fedproof` in $(PYENV): built from node/python by maturin (debug profile, sharing
# cargo's target directory with the workspace).
python:
	test -x $(PYENV)/bin/python || python3 -m venv $(PYENV)
	$(PYENV)/bin/pip install --quiet --disable-pip-version-check "maturin>=1.8,<2" "pytest>=8" "numpy>=1.24" \
	  "safetensors>=0.4" "scikit-learn>=1.3" "flwr[simulation]==1.42.0"
	cd node/python && VIRTUAL_ENV=$(PYENV_ABS) $(PYENV_ABS)/bin/maturin develop --quiet

# The pytest suite of the Python package: commitments against prover/test-vectors, exceptions,
# Python trainers in a job on anvil (with the `fedproof` binary as deployer, owner and
# aggregator), and the Flower example (node/python/examples/flower_digits) on anvil.
test-python: python contracts-deps
	$(CARGO) build -p fedproof
	$(PYENV)/bin/pytest -q node/python/tests
