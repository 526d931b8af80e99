"""Serve a GGUF over the OpenAI API with llama-cpp-python's server, safely on AMX CPUs.

    python -m app.llm.serve --model MODEL.gguf --host 127.0.0.1 --port 8080 [--api_key KEY]

Takes exactly the arguments of `python -m llama_cpp.server` (it needs the `server` extra:
`pip install 'llama-cpp-python[server]'`). The only difference: on a CPU with AMX, the
weights go in the buffers app/llm/cpu_buffers.py chooses and the mapped copies of the repacked
ones are released, as for the embedded engine, because llama.cpp's own choice (AMX) crashes
where the OS does not grant the AMX tile state. The tests and bench/remote.py run the remote
engine against this.
"""

from __future__ import annotations


def main() -> None:
    from app.llm.cpu_buffers import install_for_process

    install_for_process()
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
