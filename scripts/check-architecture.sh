#!/usr/bin/env bash
# Checks the invariants stated in ARCHITECTURE.md: which crate may know which dependency, and
# that every Rust file opens with a `//!` module doc. Run by `just check-architecture`.
set -euo pipefail
cd "$(dirname "$0")/.."
failures=0

# Workspace crates that depend directly on $1 (normal dependencies, all targets).
direct_dependents() {
    cargo tree --workspace --edges normal --target all --invert "$1" --depth 1 --prefix none 2>/dev/null \
        | awk '{print $1}' | grep '^interarec-' | sort -u || true
}

expect_only() {
    local dependency=$1; shift
    local allowed=" $* "
    for crate in $(direct_dependents "$dependency"); do
        if [[ "$allowed" != *" $crate "* ]]; then
            echo "invariant broken: $crate depends on $dependency (allowed: $*)"
            failures=$((failures + 1))
        fi
    done
}

expect_only wasmtime interarec-plugin-host
expect_only wasmtime-wasi interarec-plugin-host
expect_only sled interarec-store
expect_only tonic interarec-proto interarec-server interarec-client interarec-tests
expect_only wit-bindgen interarec-plugin
expect_only chromiumoxide interarec-capture-driver
expect_only pure-onnx-ocr interarec-vision

for crate in interarec-core; do
    for forbidden in tonic wasmtime sled reqwest; do
        if cargo tree -p "$crate" --edges normal --prefix none 2>/dev/null | awk '{print $1}' | grep -qx "$forbidden"; then
            echo "invariant broken: $crate must know neither tonic, wasmtime, sled nor reqwest, but pulls in $forbidden"
            failures=$((failures + 1))
        fi
    done
done

# The choice library is compiled into plugins too: it must stay a plain library (no I/O).
choice_dependencies=$(cargo tree -p interarec-choice --edges normal --depth 1 --prefix none 2>/dev/null | awk 'NR > 1 {print $1}' | sort -u | tr '\n' ' ')
if [[ "$choice_dependencies" != "serde serde_json thiserror " ]]; then
    echo "invariant broken: interarec-choice may depend on serde, serde_json and thiserror only, not: $choice_dependencies"
    failures=$((failures + 1))
fi

while IFS= read -r file; do
    if ! head -n 1 "$file" | grep -q '^//!'; then
        echo "missing module doc: $file must start with a //! line saying what it is for"
        failures=$((failures + 1))
    fi
done < <(git ls-files --cached --others --exclude-standard '*.rs')

if git ls-files --cached --others --exclude-standard | grep -q '/mod\.rs$'; then
    echo "style: no mod.rs files (name the module file after the module)"
    failures=$((failures + 1))
fi

if (( failures > 0 )); then
    echo "check-architecture: $failures problem(s)"
    exit 1
fi
echo "check-architecture: all invariants hold"
