"""Try a model (and its image projector) in a child process before the app loads it.

Some malformed GGUF files do not fail cleanly in llama.cpp: a projector missing `mm.2.*`,
`v.position_embd.weight` or `v.blk.0.attn_q.weight` segfaults the process while loading,
which Python cannot catch and which would take the whole window down. `probe_model` runs
`python -m app.llm.probe` on the files and turns a crash, an error or a hang into a
ModelError that names the file. A pair that passed is remembered by path, size and mtime in
an optional cache file, so the probe's extra load is paid once per file.

The child loads the model with a small context, loads the projector, encodes one small image
through the vision tower and decodes a few tokens: the paths where broken files were seen to
crash. It prints `STAGE <name>` before each step and `RESULT <json>` at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.models.errors import ModelError

log = logging.getLogger(__name__)

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding `app`
_STAGES = {
    "model": "loading the language model {model}",
    "mmproj": "loading the image projector {mmproj}",
    "encode": "encoding a test image with {mmproj}",
    "decode": "running the language model {model}",
}


def _stamp(path: Path) -> list[Any]:
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def _cache_key(model: Path, mmproj: Path | None) -> str:
    try:
        import llama_cpp

        version = getattr(llama_cpp, "__version__", "?")
    except ImportError:
        version = "?"
    files = [_stamp(model)] + ([_stamp(mmproj)] if mmproj else [])
    return json.dumps([version, files])


def _cached(cache_file: Path | None, key: str) -> bool:
    if cache_file is None:
        return False
    try:
        return key in json.loads(cache_file.read_text()).get("passed", [])
    except (OSError, ValueError, AttributeError):
        return False


def _remember(cache_file: Path | None, key: str) -> None:
    if cache_file is None:
        return
    try:
        passed = json.loads(cache_file.read_text()).get("passed", [])
    except (OSError, ValueError, AttributeError):
        passed = []
    passed = [k for k in passed if k != key][-63:] + [key]
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(cache_file.name + ".tmp")
        tmp.write_text(json.dumps({"passed": passed}))
        os.replace(tmp, cache_file)
    except OSError:
        log.warning("could not write the model probe cache %s", cache_file)


def _signal_name(rc: int) -> str:
    try:
        return signal.Signals(-rc).name
    except ValueError:
        return f"signal {-rc}"


def probe_model(
    model_path: Path,
    mmproj_path: Path | None = None,
    timeout: float = 180.0,
    threads: int = 1,
    cache_file: Path | None = None,
) -> None:
    """Load the files in a child process; raise ModelError if that crashes, fails or hangs."""
    model = Path(model_path)
    mmproj = Path(mmproj_path) if mmproj_path is not None else None
    key = _cache_key(model, mmproj) if model.is_file() and (not mmproj or mmproj.is_file()) else ""
    if key and _cached(cache_file, key):
        return
    from app.child import child_command

    cmd = [*child_command("app.llm.probe"), str(model), "--threads", str(threads)]
    if mmproj is not None:
        cmd += ["--mmproj", str(mmproj)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), env.get("PYTHONPATH")]))
    names = {"model": model.name, "mmproj": mmproj.name if mmproj else ""}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, errors="replace", timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelError(
            f"Loading {model.name}{' with ' + mmproj.name if mmproj else ''} took longer than "
            f"{timeout:.0f} s in a test run, so Parley did not load it. The file may be damaged "
            "or too large for this computer."
        ) from exc
    stages = [ln[6:].strip() for ln in proc.stdout.splitlines() if ln.startswith("STAGE ")]
    results = [ln[7:] for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    stage = stages[-1] if stages else "model"
    doing = _STAGES.get(stage, "loading {model}").format(**names)
    culprit = mmproj.name if mmproj is not None and stage in ("mmproj", "encode") else model.name
    if proc.returncode < 0 or (proc.returncode != 0 and not results):
        if proc.stderr:
            log.warning("model probe stderr (last lines):\n%s", proc.stderr[-4000:])
        how = _signal_name(proc.returncode) if proc.returncode < 0 else f"exit {proc.returncode}"
        raise ModelError(
            f"llama.cpp crashed ({how}) while {doing}, so Parley did not load it. {culprit} is "
            "damaged, incomplete or not a kind this llama.cpp supports"
            + (
                f"; if it is an image projector, it may not belong to {model.name}"
                if culprit != model.name
                else ""
            )
            + ". Download it again or choose another file in Settings."
        )
    try:
        result = json.loads(results[-1]) if results else {}
    except ValueError:
        result = {}
    if not result.get("ok"):
        error = result.get("error") or f"the test run failed while {doing}"
        raise ModelError(str(error))
    if key:
        _remember(cache_file, key)


# ---------------------------------------------------------------------------------------------
# The child


def _stage(name: str) -> None:
    print(f"STAGE {name}", flush=True)


def _test_image() -> bytes:
    import io

    from PIL import Image

    img = Image.new("RGB", (64, 64))
    img.putdata([(x * 4, y * 4, 128) for y in range(64) for x in range(64)])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _encode_test_image(handler: Any) -> int:
    """Run the vision tower on a small image; the number of image tokens it made."""
    import ctypes

    mtmd = handler._mtmd_cpp
    bitmap = handler._create_bitmap_from_bytes(_test_image())
    chunks = mtmd.mtmd_input_chunks_init()
    try:
        text = mtmd.mtmd_input_text()
        marker = mtmd.mtmd_default_marker()
        text.text, text.text_len = marker, len(marker)
        text.add_special, text.parse_special = False, True
        bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
        if mtmd.mtmd_tokenize(handler.mtmd_ctx, chunks, ctypes.byref(text), bitmaps, 1) != 0:
            raise ModelError("llama.cpp could not prepare a test image for the projector.")
        n_tokens = 0
        for i in range(mtmd.mtmd_input_chunks_size(chunks)):
            chunk = mtmd.mtmd_input_chunks_get(chunks, i)
            if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                if mtmd.mtmd_encode_chunk(handler.mtmd_ctx, chunk) != 0:
                    raise ModelError("The image projector failed to encode a test image.")
                n_tokens += mtmd.mtmd_input_chunk_get_n_tokens(chunk)
        return n_tokens
    finally:
        mtmd.mtmd_input_chunks_free(chunks)
        mtmd.mtmd_bitmap_free(bitmap)


def _run(model: Path, mmproj: Path | None, threads: int) -> dict[str, Any]:
    from app.llm import vision
    from app.llm.load import check_gguf, load_llama

    _stage("model")
    check_gguf(model)
    pair = vision.inspect_pair(model, mmproj) if mmproj is not None else None
    handler = vision.create_chat_handler(pair) if pair is not None else None
    kwargs: dict[str, Any] = {
        "model_path": str(model),
        "n_ctx": 512,
        "n_threads": threads,
        "n_batch": 64,
        "verbose": False,
    }
    if handler is not None:
        kwargs["chat_handler"] = handler
    try:
        llm: Any = load_llama(**kwargs)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(
            f"llama.cpp could not load {model.name}: the file is damaged or uses an "
            "architecture this version does not support."
        ) from exc
    result: dict[str, Any] = {"ok": True, "n_embd": llm.n_embd()}
    try:
        if handler is not None and pair is not None:
            _stage("mmproj")
            vision.init_handler(handler, llm, pair)
            _stage("encode")
            result["image_tokens"] = _encode_test_image(handler)
            result["handler"] = type(handler).__name__
        _stage("decode")
        tokens = llm.tokenize(b"Hello", add_bos=True, special=False)
        llm.eval(tokens)
        result["decoded_tokens"] = len(tokens)
    finally:
        llm.close()  # frees the projector while stderr redirection still works
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.llm.probe", description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("--mmproj", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        result = _run(args.model, args.mmproj, args.threads)
    except ModelError as exc:
        result = {"ok": False, "error": str(exc)}
    except Exception as exc:  # anything else is still a reason not to load the file
        files = args.model.name + (f" with {args.mmproj.name}" if args.mmproj else "")
        said = " ".join(str(exc).split())[:300] or "an unexpected error"
        result = {"ok": False, "error": f"Loading {files} failed: {said}."}
    print("RESULT " + json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
