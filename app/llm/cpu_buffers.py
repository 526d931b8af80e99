"""Where llama.cpp keeps the weights on the CPU: repacked for speed, but never for AMX here.

llama.cpp's "extra" CPU buffer types hold weights re-laid-out for faster kernels: AMX (Intel
tile instructions) and CPU_REPACK (rows interleaved for AVX2/AVX-512 dot products). A
from-source build on an AMX CPU prefers AMX, and its batched decode segfaults where the OS
(e.g. a VM) does not grant the AMX tile state: seen here on the first multi-token prompt.
Switching the extra types off (`use_extra_bufts = False`) avoids the crash but loses the
repacking too, which costs about a fifth of the generation speed (measured here on the
default model: 11.0 tokens/s plain, 13.8 repacked).

So on AMX CPUs Parley switches the extra types off and then places the weights that
CPU_REPACK handles on x86 (2-D Q4_0, Q4_K and IQ4_NL matrices whose row count is a multiple of
8) in that buffer type explicitly, through `tensor_buft_overrides`. Llama() has no parameter
for either, so the default-model-params factory it calls is wrapped for the load.
`PARLEY_LLAMA_EXTRA_BUFTS=1` restores llama.cpp's own choice (for CPUs where AMX works).
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_patch_lock = threading.Lock()

# ggml type ids (ggml.h) that CPU_REPACK repacks on any x86 CPU with AVX2 (every AMX CPU has
# it); other types in that buffer would abort llama.cpp's scheduler, so the list is exact.
_REPACKABLE_X86 = {2: "Q4_0", 12: "Q4_K", 20: "IQ4_NL"}
# Linux mmap constants the mmap module does not export.
_PROT_NONE = 0
_MAP_FIXED = 0x10
_MAP_NORESERVE = 0x4000
_LAYER_WEIGHT = re.compile(r"^blk\.(\d+)\.(.+)\.weight$")


def cpu_has_amx() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            return "amx_tile" in fh.read(65536)
    except OSError:
        return False


def needs_amx_workaround() -> bool:
    """Whether llama.cpp's own choice of extra buffer types must be overridden."""
    return cpu_has_amx() and os.environ.get("PARLEY_LLAMA_EXTRA_BUFTS") != "1"


def repack_plan(
    tensors: dict[str, tuple[int, ...]], types: dict[str, int]
) -> tuple[list[str], list[str]]:
    """The layer weights CPU_REPACK can hold, and regexes naming exactly them, one per kind.

    Quantisation mixes (Q4_K_M puts some layers' attn_v and ffn_down in Q6_K) make the set
    differ per layer, so each pattern lists its layers; llama.cpp compiles every pattern for
    every tensor, so a few short patterns load much faster than one per tensor.
    """
    names: list[str] = []
    layers: dict[str, list[str]] = {}
    for name, shape in tensors.items():
        match = _LAYER_WEIGHT.match(name)
        if match is None or types.get(name) not in _REPACKABLE_X86:
            continue
        if len(shape) != 2 or shape[1] % 8 != 0:
            continue
        names.append(name)
        layers.setdefault(match.group(2), []).append(match.group(1))
    patterns = [
        rf"^blk\.({'|'.join(sorted(ids, key=int))})\.{re.escape(kind)}\.weight$"
        for kind, ids in sorted(layers.items())
    ]
    return names, patterns


class _Override(ctypes.Structure):
    # llama.h: struct llama_model_tensor_buft_override { const char * pattern; buft; }
    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


def _repack_buffer_type() -> int | None:
    """llama.cpp's CPU_REPACK buffer type, found the way llama.cpp finds it (the registry)."""
    import llama_cpp

    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    try:
        ggml = ctypes.CDLL(str(lib_dir / "libggml.so"))
        base = ctypes.CDLL(str(lib_dir / "libggml-base.so"))
    except OSError:
        return None
    ggml.ggml_backend_dev_by_type.restype = ctypes.c_void_p
    ggml.ggml_backend_dev_by_type.argtypes = [ctypes.c_int]
    base.ggml_backend_dev_backend_reg.restype = ctypes.c_void_p
    base.ggml_backend_dev_backend_reg.argtypes = [ctypes.c_void_p]
    base.ggml_backend_reg_get_proc_address.restype = ctypes.c_void_p
    base.ggml_backend_reg_get_proc_address.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    base.ggml_backend_buft_name.restype = ctypes.c_char_p
    base.ggml_backend_buft_name.argtypes = [ctypes.c_void_p]

    cpu = ggml.ggml_backend_dev_by_type(0)  # GGML_BACKEND_DEVICE_TYPE_CPU
    if not cpu:
        return None
    reg = base.ggml_backend_dev_backend_reg(cpu)
    address = base.ggml_backend_reg_get_proc_address(reg, b"ggml_backend_dev_get_extra_bufts")
    if not address:
        return None
    get_extra = ctypes.CFUNCTYPE(ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)(address)
    # Listing the extra types creates AMX's too, which only asks the OS for the tile state
    # (arch_prctl); the crash comes from running AMX kernels, which nothing here does.
    extra = get_extra(cpu)
    i = 0
    while extra and extra[i]:
        if base.ggml_backend_buft_name(extra[i]) == b"CPU_REPACK":
            return int(extra[i])
        i += 1
    return None


class RepackOverrides:
    """A NULL-terminated llama_model_tensor_buft_override array, kept alive with its strings,
    and the file byte ranges of the weights it moves."""

    def __init__(self, patterns: list[str], buft: int, ranges: list[tuple[int, int]]) -> None:
        self._patterns = [p.encode() for p in patterns]
        self._array = (_Override * (len(patterns) + 1))(
            *[_Override(p, buft) for p in self._patterns], _Override(None, None)
        )
        self.ranges = ranges

    @property
    def address(self) -> int:
        return ctypes.addressof(self._array)


def repack_overrides(model_path: Path) -> RepackOverrides | None:
    """Overrides that put `model_path`'s repackable weights in CPU_REPACK (None: none apply)."""
    from app.models.gguf_info import read_gguf_header, tensor_bytes

    try:
        header = read_gguf_header(model_path, max_array=0)
    except (OSError, ValueError) as exc:
        log.debug("no repacking for %s: %s", model_path, exc)
        return None
    names, patterns = repack_plan(header.tensors, header.tensor_types)
    if not patterns:
        return None
    buft = _repack_buffer_type()
    if buft is None:
        log.info("llama.cpp has no CPU_REPACK buffer type; weights stay unpacked")
        return None
    ranges = []
    for name in names:
        start = header.data_start + header.tensor_offsets.get(name, 0)
        size = tensor_bytes(header.tensor_types[name], header.tensors[name]) or 0
        ranges.append((start, start + size))
    return RepackOverrides(patterns, buft, ranges)


def file_mappings(path: Path) -> set[tuple[int, int, int]]:
    """(start, end, file offset) of this process's mappings of `path`."""
    real = os.path.realpath(path)
    found = set()
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as fh:
            for line in fh:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].rstrip("\n") == real:
                    low, high = (int(x, 16) for x in fields[0].split("-"))
                    found.add((low, high, int(fields[2], 16)))
    except OSError:
        pass
    return found


def release_mapped_copies(
    mappings: set[tuple[int, int, int]], ranges: list[tuple[int, int]]
) -> int:
    """Drop this process's mapped pages of weights llama.cpp copied into repacked buffers.

    llama.cpp maps the whole file and reads the repacked weights through the mapping once;
    those pages would stay resident (about 0.6 GB for the default model) though never read
    again. Each such range is replaced in place (MAP_FIXED) by an inaccessible anonymous
    reservation, which holds no memory. Not MADV_DONTNEED: that is undone over time, because a
    fault on a neighbouring weight maps the whole large page-cache folio around it. Not
    munmap: llama.cpp unmaps its whole mapping when the model is freed, and would then unmap
    whatever another library had been given at those addresses meanwhile (seen: a crash at
    exit after onnxruntime loaded). `mappings` must be the new model's own (`file_mappings`).
    Returns bytes released.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_FIXED | _MAP_NORESERVE
    page = mmap.PAGESIZE
    released = 0
    for start, end in ranges:
        for low, high, offset in mappings:
            first = max(start, offset)
            last = min(end, offset + high - low)
            first = -(-first // page) * page  # whole pages inside the tensor only
            last = last // page * page
            if last <= first:
                continue
            address = low + first - offset
            if libc.mmap(address, last - first, _PROT_NONE, flags, -1, 0) == address:
                released += last - first
    return released


def params_factory(original: Callable[[], Any], overrides: RepackOverrides | None) -> Any:
    """llama.cpp's default-model-params factory, without the extra buffer types, with overrides."""

    def safe_default_params():  # noqa: ANN202
        params = original()
        params.use_extra_bufts = False
        if overrides is not None:
            params.tensor_buft_overrides = overrides.address
        return params

    return safe_default_params


@contextmanager
def safe_cpu_buffers(model_path: Path | str, repack: bool = True) -> Iterator[None]:
    """While in the block, Llama() loads `model_path` without AMX but with repacked weights.

    A no-op where the workaround is not needed. The overrides are only read during the load
    (llama_model_load), so they need not outlive the block. After a successful load the
    mapped pages of the repacked weights are released.
    """
    if not needs_amx_workaround():
        yield
        return
    import llama_cpp.llama as llama_module

    overrides = repack_overrides(Path(model_path)) if repack else None  # plain: benchmarks
    before = file_mappings(Path(model_path))  # others' (another model on the same file)
    c_api = llama_module.llama_cpp
    with _patch_lock:
        original = c_api.llama_model_default_params
        c_api.llama_model_default_params = params_factory(original, overrides)
        try:
            yield
        finally:
            c_api.llama_model_default_params = original
    if overrides is not None:
        # llama.cpp's mapping starts where its first mapped weight does (it unmaps the header
        # pages); a mapping from offset 0 is someone reading the header (gguf_info), untouched.
        mine = {m for m in file_mappings(Path(model_path)) - before if m[2] > 0}
        released = release_mapped_copies(mine, overrides.ranges)
        log.debug("released %d MB of mapped, repacked weights", released >> 20)


def install_for_process() -> bool:
    """Make every Llama this process creates load as `safe_cpu_buffers` loads it, mapped copies
    released too (for the single-model server, which creates its Llama itself).

    Returns whether anything was changed.
    """
    if not needs_amx_workaround():
        return False
    import llama_cpp.llama as llama_module

    original = llama_module.Llama.__init__

    def init(self: Any, model_path: str, *args: Any, **kwargs: Any) -> None:
        with safe_cpu_buffers(model_path):
            original(self, model_path, *args, **kwargs)

    llama_module.Llama.__init__ = init  # type: ignore[method-assign]
    return True
