"""Which catalog model suits this computer: the first-run welcome offers it.

The rule, kept simple enough to say in one sentence to the user: the largest text model that
needs at most 40 % of the memory (speech, voice, the desktop and a browser need the rest), and
on fewer than 4 cores none above 3 GB, because a 7B model there answers at a few words a second.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass

from app.models.catalog import Catalog, CatalogEntry

MEMORY_SHARE = 0.4
FEW_CORES = 4
FEW_CORES_MAX_MB = 3000


@dataclass(frozen=True, slots=True)
class Machine:
    memory_mb: int  # 0: not known
    cores: int


def this_machine() -> Machine:
    return Machine(memory_mb=total_memory_mb(), cores=os.cpu_count() or 1)


def total_memory_mb() -> int:
    """Physical memory in MB, or 0 where the platform does not say."""
    if sys.platform == "win32":
        return _windows_memory_mb()
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    except (ValueError, OSError, AttributeError):
        return 0


def _windows_memory_mb() -> int:
    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    try:
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullTotalPhys // 2**20)
    except (AttributeError, OSError):
        pass
    return 0


def fits(entry: CatalogEntry, machine: Machine) -> bool:
    if machine.memory_mb and entry.memory_mb > machine.memory_mb * MEMORY_SHARE:
        return False
    return not (machine.cores < FEW_CORES and entry.memory_mb > FEW_CORES_MAX_MB)


def suggest_llm(
    catalog: Catalog, machine: Machine, have_builtin: bool = True
) -> CatalogEntry | None:
    """The largest text model that fits, or None when nothing beats the built-in one. Without
    the built-in model (a bundle), the largest that fits and can be downloaded, whatever."""
    builtin = catalog.default("llm")
    floor = builtin.memory_mb if builtin is not None and have_builtin else 0
    fitting = [e for e in catalog.by_role("llm") if fits(e, machine) and e.memory_mb > floor]
    if not have_builtin:
        fitting = [e for e in fitting if e.source.type == "hub"] or [
            e for e in catalog.by_role("llm") if e.source.type == "hub"
        ][:1]
    return max(fitting, key=lambda e: e.memory_mb, default=None)


def why(entry: CatalogEntry | None, machine: Machine, have_builtin: bool = True) -> str:
    """One sentence: the machine, and what the suggestion is based on."""
    memory = f"{machine.memory_mb / 1024:.0f} GB of memory" if machine.memory_mb else "memory"
    cores = f"{machine.cores} core{'s' if machine.cores != 1 else ''}"
    if entry is not None and not have_builtin:
        return (
            f"This copy of Parley comes without a language model. For this computer ({memory}, "
            f"{cores}): {entry.name}, a {entry.approx_size_bytes / 1e9:.1f} GB download that "
            f"needs about {entry.memory_mb / 1000:.1f} GB of memory. Speech and the voice work "
            "already."
        )
    if entry is None:
        return (
            f"This computer ({memory}, {cores}) runs the built-in model well; a larger one "
            "would answer too slowly or not fit."
        )
    return (
        f"This computer ({memory}, {cores}) can run {entry.name}: it needs about "
        f"{entry.memory_mb / 1000:.1f} GB of memory and answers better than the built-in model "
        f"({entry.approx_size_bytes / 1e9:.1f} GB download)."
    )
