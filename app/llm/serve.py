"""Serve a GGUF over the OpenAI API with llama-cpp-python's server, safely on AMX CPUs.

    python -m app.llm.serve --model MODEL.gguf --host 127.0.0.1 --port 8080 [--api_key KEY]

Takes exactly the arguments of `python -m llama_cpp.server` (it needs the `server` extra:
`pip install 'llama-cpp-python[server]'`). The only difference: on a CPU with AMX, llama.cpp's
extra (repacking) buffer types are turned off first, as `app.llm.llama._load_llama` does for
the embedded engine, because their batched decode crashes where the OS does not grant the
AMX tile state. The tests and bench/remote.py run the remote engine against this.
"""

from __future__ import annotations


def disable_extra_bufts() -> bool:
    """Make every Llama this process creates skip the extra buffer types (when AMX is there).

    Returns whether it did. The server builds its Llama itself, with no parameter for this,
    so the default-params factory is replaced for the whole (single-model) process.
    """
    from app.llm.llama import needs_amx_workaround, without_extra_bufts_factory

    if not needs_amx_workaround():
        return False
    import llama_cpp.llama as llama_module

    c_api = llama_module.llama_cpp
    c_api.llama_model_default_params = without_extra_bufts_factory(c_api.llama_model_default_params)
    return True


def main() -> None:
    disable_extra_bufts()
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
