"""A tiny vision-language model written with the `gguf` package, for tests.

No real vision model can be downloaded where the tests run, yet the llama.cpp image path
(mmproj loading, CLIP encoding, image tokens in the prompt) must be exercised for real. So the
tests build one: random weights, a real llama.cpp text architecture ("llama", byte-level BPE
vocabulary, a ChatML template) and a real LLaVA-style CLIP projector ("mlp": a ViT with
`v.*` tensors and a two-layer projector `mm.0` / `mm.2`). Both files are a few hundred KB and
are written in milliseconds; the weights are seeded, so every build is identical.

The `write_mmproj` knobs make deliberately broken or mismatched projectors for error tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import gguf
import numpy as np

SEED = 1234

# Text model
N_EMBD = 64
N_LAYER = 2
N_HEAD = 4
N_FF = 128
N_CTX_TRAIN = 2048

# Vision tower: a 32x32 image in 8x8 patches gives 16 image tokens (LLaVA drops the class token).
IMAGE_SIZE = 32
PATCH_SIZE = 8
V_EMBD = 32
V_HEAD = 2
V_FF = 64
V_LAYER = 2
PROJ_HIDDEN = 64
IMAGE_TOKENS = (IMAGE_SIZE // PATCH_SIZE) ** 2

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (what byte-level BPE vocabularies use)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


def _vocab() -> tuple[list[str], list[int], list[str]]:
    byte_chars = _bytes_to_unicode()
    tokens = list(SPECIALS)
    types = [gguf.TokenType.CONTROL] * len(SPECIALS)
    for b in range(256):
        tokens.append(byte_chars[b])
        # Lone bytes 0x80-0xFF are never valid UTF-8 on their own; as normal tokens a random
        # model emits them and llama-cpp-python's streaming overruns max_tokens waiting for the
        # rest of the character. As control tokens they are never rendered.
        types.append(gguf.TokenType.CONTROL if b >= 0x80 else gguf.TokenType.NORMAL)
    merges = ["Ġ t", "h e", "Ġ a"]
    for m in merges:
        tokens.append(m.replace(" ", ""))
        types.append(gguf.TokenType.NORMAL)
    return tokens, [int(t) for t in types], merges


def _rand(rng: np.random.Generator, *shape: int, scale: float = 0.2) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def write_llm(
    path: Path, *, n_embd: int = N_EMBD, name: str = "tiny-llava-test", chat_template: str = CHATML
) -> Path:
    """A 2-layer "llama" text model with a byte-level vocabulary and a ChatML chat template
    (or `chat_template`)."""
    rng = np.random.default_rng(SEED)
    tokens, types, merges = _vocab()
    n_vocab = len(tokens)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_context_length(N_CTX_TRAIN)
    w.add_embedding_length(n_embd)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(n_embd // N_HEAD)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(0)
    w.add_eos_token_id(2)  # <|im_end|> ends a reply
    w.add_add_bos_token(False)
    w.add_chat_template(chat_template)
    # Embeddings and output are large so the logits are peaked and greedy decoding is decisive.
    w.add_tensor("token_embd.weight", _rand(rng, n_vocab, n_embd, scale=1.0))
    for i in range(N_LAYER):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, np.float32))
        for t in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(f"blk.{i}.{t}.weight", _rand(rng, n_embd, n_embd))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", _rand(rng, N_FF, n_embd))
        w.add_tensor(f"blk.{i}.ffn_up.weight", _rand(rng, N_FF, n_embd))
        w.add_tensor(f"blk.{i}.ffn_down.weight", _rand(rng, n_embd, N_FF))
    w.add_tensor("output_norm.weight", np.ones(n_embd, np.float32))
    w.add_tensor("output.weight", _rand(rng, n_vocab, n_embd, scale=1.0))
    _finish(w)
    return path


def write_mmproj(
    path: Path,
    *,
    llm_embd: int = N_EMBD,
    projector_type: str = "mlp",
    has_vision_encoder: bool = True,
    drop: Iterable[str] = (),
    name: str = "tiny-llava-test-mmproj",
) -> Path:
    """A LLaVA-style CLIP projector whose output size is `llm_embd`.

    `drop` leaves tensors out (e.g. "mm.2.weight"): some missing tensors make llama.cpp fail
    cleanly, others crash the process, which is what the child-process probe is for.
    """
    rng = np.random.default_rng(SEED + 1)
    dropped = set(drop)
    n_pos = IMAGE_TOKENS + 1  # + class embedding
    w = gguf.GGUFWriter(str(path), "clip")
    w.add_name(name)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_bool(gguf.Keys.Clip.HAS_VISION_ENCODER, has_vision_encoder)
    w.add_bool(gguf.Keys.Clip.HAS_LLAVA_PROJECTOR, True)
    w.add_bool("clip.has_text_encoder", False)
    w.add_clip_projector_type(projector_type)
    w.add_vision_image_size(IMAGE_SIZE)
    w.add_vision_patch_size(PATCH_SIZE)
    w.add_vision_embedding_length(V_EMBD)
    w.add_vision_feed_forward_length(V_FF)
    w.add_vision_projection_dim(llm_embd)
    w.add_vision_block_count(V_LAYER)
    w.add_vision_head_count(V_HEAD)
    w.add_vision_attention_layernorm_eps(1e-5)
    w.add_vision_image_mean([0.5, 0.5, 0.5])
    w.add_vision_image_std([0.5, 0.5, 0.5])
    w.add_vision_use_gelu(True)

    tensors: dict[str, np.ndarray] = {
        # ggml wants the conv kernel as [out, in, kh, kw] (numpy order), in f16
        "v.patch_embd.weight": _rand(rng, V_EMBD, 3, PATCH_SIZE, PATCH_SIZE, scale=0.5).astype(
            np.float16
        ),
        "v.class_embd": _rand(rng, V_EMBD),
        "v.position_embd.weight": _rand(rng, n_pos, V_EMBD),
        "v.pre_ln.weight": np.ones(V_EMBD, np.float32),
        "v.pre_ln.bias": np.zeros(V_EMBD, np.float32),
    }
    for i in range(V_LAYER):
        for t in ("attn_q", "attn_k", "attn_v", "attn_out"):
            tensors[f"v.blk.{i}.{t}.weight"] = _rand(rng, V_EMBD, V_EMBD)
            tensors[f"v.blk.{i}.{t}.bias"] = np.zeros(V_EMBD, np.float32)
        for t in ("ln1", "ln2"):
            tensors[f"v.blk.{i}.{t}.weight"] = np.ones(V_EMBD, np.float32)
            tensors[f"v.blk.{i}.{t}.bias"] = np.zeros(V_EMBD, np.float32)
        tensors[f"v.blk.{i}.ffn_up.weight"] = _rand(rng, V_FF, V_EMBD)
        tensors[f"v.blk.{i}.ffn_up.bias"] = np.zeros(V_FF, np.float32)
        tensors[f"v.blk.{i}.ffn_down.weight"] = _rand(rng, V_EMBD, V_FF)
        tensors[f"v.blk.{i}.ffn_down.bias"] = np.zeros(V_EMBD, np.float32)
    # The projector's output rows must match the LLM's embedding size.
    tensors["mm.0.weight"] = _rand(rng, PROJ_HIDDEN, V_EMBD, scale=1.0)
    tensors["mm.0.bias"] = np.zeros(PROJ_HIDDEN, np.float32)
    tensors["mm.2.weight"] = _rand(rng, llm_embd, PROJ_HIDDEN, scale=1.0)
    tensors["mm.2.bias"] = np.zeros(llm_embd, np.float32)
    for tname, data in tensors.items():
        if tname not in dropped:
            w.add_tensor(tname, data)
    _finish(w)
    return path


def _finish(w: gguf.GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def build_tiny_vlm(directory: Path) -> tuple[Path, Path]:
    """Write the tiny model and its matching projector into `directory`; (model, mmproj)."""
    directory.mkdir(parents=True, exist_ok=True)
    model = write_llm(directory / "tiny-llava.gguf")
    mmproj = write_mmproj(directory / "mmproj-tiny-llava.gguf")
    return model, mmproj


def write_mismatched_mmproj(path: Path) -> Path:
    """A well-formed projector for a 96-wide LLM: it does not fit the 64-wide tiny model."""
    return write_mmproj(path, llm_embd=N_EMBD + 32, name="tiny-llava-96-mmproj")


def write_crashing_mmproj(path: Path) -> Path:
    """A projector without `mm.2.*`: llama.cpp dereferences the missing tensor and segfaults."""
    return write_mmproj(path, drop=("mm.2.weight", "mm.2.bias"))


def write_no_vision_mmproj(path: Path) -> Path:
    """A projector that says it has no vision encoder."""
    return write_mmproj(path, has_vision_encoder=False)


def png_data_uri(color: tuple[int, int, int], size: int = 48, pattern: bool = False) -> str:
    """A PNG of one color (or a checkerboard of it and its inverse) as a data: URI."""
    import base64
    import io

    from PIL import Image

    img = Image.new("RGB", (size, size), color)
    if pattern:
        inverse = tuple(255 - c for c in color)
        for y in range(size):
            for x in range(size):
                if (x // 8 + y // 8) % 2:
                    img.putpixel((x, y), inverse)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
