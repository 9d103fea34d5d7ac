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
        if [[ "$crate" != "$dependency" && "$allowed" != *" $crate "* ]]; then
            echo "invariant broken: $crate depends on $dependency (allowed: $*)"
            failures=$((failures + 1))
        fi
    done
}

expect_only wasmtime interarec-plugin-host
expect_only wasmtime-wasi interarec-plugin-host
expect_only sled interarec-store
expect_only postgres interarec-store
expect_only tonic interarec-proto interarec-server interarec-client interarec-tests
# The binary wires the server; the test harness starts it in process. Nothing else builds on it.
expect_only interarec-server interarec-cli interarec-tests
# guest-wit-0-1-0 stands for a tool built by the 0.1.0 SDK: its bindings come from the old WIT.
expect_only wit-bindgen interarec-plugin guest-wit-0-1-0
expect_only chromiumoxide interarec-capture-driver
expect_only pure-onnx-ocr interarec-vision
expect_only metrics-exporter-prometheus interarec-server

for crate in interarec-core; do
    for forbidden in tonic wasmtime sled postgres reqwest; do
        if cargo tree -p "$crate" --edges normal --prefix none 2>/dev/null | awk '{print $1}' | grep -qx "$forbidden"; then
            echo "invariant broken: $crate must know neither tonic, wasmtime, sled, postgres nor reqwest, but pulls in $forbidden"
            failures=$((failures + 1))
        fi
    done
done

# The choice library is compiled into plugins too: it must stay a plain library (no I/O).
choice_dependencies=$(cargo tree -p interarec-choice --edges normal --depth 1 --prefix none 2>/dev/null | awk 'NR > 1 {print $1}' | sort -u | tr '\n' ' ')
if [[ "$choice_dependencies" != "schemars serde serde_json thiserror " ]]; then
    echo "invariant broken: interarec-choice may depend on schemars, serde, serde_json and thiserror only, not: $choice_dependencies"
    failures=$((failures + 1))
fi

# Inside the server, tonic is the gRPC layer's: `grpc/` and `lib.rs` (which serves it).
while IFS= read -r file; do
    echo "invariant broken: $file uses tonic; only orchestrator/server/src/grpc/ and lib.rs (and the client) may"
    failures=$((failures + 1))
done < <(git ls-files --cached --others --exclude-standard 'orchestrator/*.rs' \
    | grep -v -e '^orchestrator/server/src/grpc/' -e '^orchestrator/server/src/lib.rs$' \
    | xargs grep -l -E '\btonic::|use tonic\b' 2>/dev/null || true)

# Status codes are chosen in one place: no status is built elsewhere in the server.
while IFS= read -r hit; do
    echo "invariant broken: $hit builds a gRPC status; add a mapping or a constructor to grpc/status.rs"
    failures=$((failures + 1))
done < <(git ls-files --cached --others --exclude-standard 'orchestrator/server/src/*.rs' \
    | grep -v '^orchestrator/server/src/grpc/status.rs$' \
    | xargs grep -n -E 'Status::(new|invalid_argument|internal|not_found|already_exists|permission_denied|unauthenticated|resource_exhausted|failed_precondition|unavailable|aborted|deadline_exceeded|unimplemented|cancelled|unknown|out_of_range|data_loss)\(' 2>/dev/null || true)

# No import circle between the modules of one crate: `crate::a` naming `crate::b` and back.
python3 - <<'PY' || failures=$((failures + 1))
import pathlib, re, subprocess, sys

files = subprocess.run(
    ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.rs"],
    capture_output=True, text=True, check=True,
).stdout.split()
edges = {}
for name in files:
    path = pathlib.Path(name)
    parts = path.parts
    if "src" not in parts:
        continue
    root = pathlib.Path(*parts[: parts.index("src") + 1])
    relative = path.relative_to(root).with_suffix("")
    top = relative.parts[0]
    if top in ("lib", "main"):
        continue
    module = (str(root), top)
    text = path.read_text(encoding="utf-8")
    # Test modules may reach anywhere in their crate.
    text = re.split(r"#\[cfg\(test\)\]", text)[0]
    # Doc links and comments are not imports.
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    for used in re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", text):
        if used != top:
            edges.setdefault(module, set()).add((str(root), used))
broken = sorted(
    {tuple(sorted((a[1], b[1]))) + (a[0],) for a, targets in edges.items() for b in targets if a in edges.get(b, set())}
)
for first, second, root in broken:
    print(f"invariant broken: in {root}, modules `{first}` and `{second}` import each other; move what both need below them")
sys.exit(1 if broken else 0)
PY

# What the tool world defines once is shared with tools compiled to WebAssembly: serde,
# serde_json and schemars only.
capability_dependencies=$(cargo tree -p interarec-capability --edges normal --depth 1 --prefix none 2>/dev/null | awk 'NR > 1 {print $1}' | sort -u | tr '\n' ' ')
if [[ "$capability_dependencies" != "schemars serde serde_json " ]]; then
    echo "invariant broken: interarec-capability may depend on serde, serde_json and schemars only, not: $capability_dependencies"
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
