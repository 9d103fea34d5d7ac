"""Starts llama.cpp's OpenAI-compatible server (llama-cpp-python's `llama_cpp.server`) with the
arguments given, after one fix: on CPUs with AMX, llama-cpp-python 0.3.x crashes at the first
completion while repacking weights into AMX buffers, so there the model is loaded with its
extra buffer types turned off (`use_extra_bufts = False`). Set INTERAREC_LLM_EXTRA_BUFTS=1 or 0
to force either way. Used by scripts/llm.sh; any `python -m llama_cpp.server` argument works.
"""

import os
import sys


def cpu_has_amx() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            return any(line.startswith("flags") and " amx" in line for line in cpuinfo)
    except OSError:
        return False


def main() -> None:
    import llama_cpp.llama_cpp as low_level

    forced = os.environ.get("INTERAREC_LLM_EXTRA_BUFTS")
    keep_extra_bufts = forced == "1" if forced in ("0", "1") else not cpu_has_amx()
    if not keep_extra_bufts:
        default_params = low_level.llama_model_default_params

        def without_extra_bufts():
            params = default_params()
            params.use_extra_bufts = False
            return params

        # llama_cpp.Llama reads the defaults through this module attribute.
        low_level.llama_model_default_params = without_extra_bufts
        print("llm-server: extra buffer types off (AMX CPU, or INTERAREC_LLM_EXTRA_BUFTS=0)", file=sys.stderr)

    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
