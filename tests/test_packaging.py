"""What a person installs: the desktop entry and AppStream data (validated by the freedesktop
tools), the icons, install.sh into a prefix, and the built bundle itself (packaging/build.sh:
its self-test and a question through it, offscreen and under a real X server)."""

# ruff: noqa: E501  (long subprocess lines)
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.realtools import REPO

LINUX = REPO / "packaging" / "linux"
APP_ID = "io.github.parley.Parley"
BUNDLE = REPO / "dist" / "parley"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: scripts/setup.sh --test installs it")
    return path


def test_the_desktop_entry_is_valid_and_starts_parley() -> None:
    entry = LINUX / f"{APP_ID}.desktop"
    run = subprocess.run(
        [_tool("desktop-file-validate"), str(entry)], capture_output=True, text=True
    )
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr
    text = entry.read_text()
    assert "\nExec=parley %F\n" in text and f"\nIcon={APP_ID}\n" in text


def test_the_appstream_metainfo_is_valid() -> None:
    info = LINUX / f"{APP_ID}.metainfo.xml"
    run = subprocess.run(
        [_tool("appstreamcli"), "validate", "--no-net", str(info)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f'<launchable type="desktop-id">{APP_ID}.desktop</launchable>' in info.read_text()


def _fake_bundle(tmp_path: Path) -> Path:
    """A bundle's layout around a stand-in executable, staged as build.sh stages a real one."""
    bundle = tmp_path / "dist" / "parley"
    bundle.mkdir(parents=True)
    (bundle / "parley").write_text("#!/bin/sh\necho parley 0.1.0\n")
    (bundle / "parley").chmod(0o755)
    (bundle / "_internal").mkdir()
    share = bundle / "share"
    (share / "applications").mkdir(parents=True)
    (share / "metainfo").mkdir()
    shutil.copy(LINUX / f"{APP_ID}.desktop", share / "applications")
    shutil.copy(LINUX / f"{APP_ID}.metainfo.xml", share / "metainfo")
    subprocess.run(
        ["python3", str(LINUX / "icons.py"), str(REPO / "assets" / "icon.png"),
         str(share / "icons" / "hicolor"), APP_ID],
        check=True, env=os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )  # fmt: skip
    (share / "man" / "man1").mkdir(parents=True)
    shutil.copy(LINUX / "parley.1", share / "man" / "man1" / "parley.1.gz")
    shutil.copy(LINUX / "install.sh", bundle / "install.sh")
    return bundle


def test_install_sh_puts_parley_in_the_menu_and_uninstall_keeps_the_data(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path)
    prefix = tmp_path / "home" / ".local"
    data = prefix / "share" / "parley" / "conversations.db"
    data.parent.mkdir(parents=True)
    data.write_text("the user's chats")
    run = subprocess.run(["bash", str(bundle / "install.sh"), "--prefix", str(prefix)],
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (
        subprocess.run([str(prefix / "bin" / "parley")], capture_output=True, text=True).stdout
        == "parley 0.1.0\n"
    )
    desktop = (prefix / "share" / "applications" / f"{APP_ID}.desktop").read_text()
    assert f"Exec={prefix}/bin/parley %F" in desktop
    for size in (16, 22, 24, 32, 48, 64, 128, 256):
        icon = prefix / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert icon.is_file(), icon
    assert (prefix / "share" / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (prefix / "share" / "man" / "man1" / "parley.1.gz").is_file()  # `man parley`
    assert not (prefix / "lib" / "parley" / "install.sh").exists()  # only the program is copied
    run = subprocess.run(["bash", str(bundle / "install.sh"), "--prefix", str(prefix), "--uninstall"],
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0 and "kept" in run.stdout
    assert not (prefix / "bin" / "parley").exists() and not (prefix / "lib" / "parley").exists()
    assert not (prefix / "share" / "man" / "man1" / "parley.1.gz").exists()
    assert data.read_text() == "the user's chats"


def _bundle_or_skip() -> Path:
    exe = BUNDLE / "parley"
    if not exe.is_file():
        pytest.skip("no bundle: packaging/build.sh builds dist/parley (about 12 minutes)")
    return exe


def _bundle_env() -> dict[str, str]:
    """The bundle on its own: no virtual environment or checkout on its paths."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin"
    return env


@pytest.mark.models
def test_the_bundle_passes_its_self_test_and_answers(tmp_path: Path) -> None:
    exe = _bundle_or_skip()
    env = _bundle_env() | {"QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, env=env,
                         timeout=180, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "All of Parley's libraries and models work." in run.stdout
    ask = subprocess.run([str(exe), "ask", "--no-save", "--text", "What is the capital of France?",
                          "--max-tokens", "24"], capture_output=True, text=True, env=env,
                         timeout=300, cwd=tmp_path)  # fmt: skip
    assert ask.returncode == 0 and "Paris" in ask.stdout, ask.stdout + ask.stderr
    assert not any(BUNDLE.rglob("*.log")) and not any(BUNDLE.rglob("settings.json"))


@pytest.mark.models
def test_the_bundle_opens_its_window_under_a_real_x_server(tmp_path: Path) -> None:
    from tests.x11 import XServer

    exe = _bundle_or_skip()
    with XServer() as x:
        env = _bundle_env() | {"DISPLAY": x.display}
        env.pop("QT_QPA_PLATFORM", None)
        run = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, env=env,
                             timeout=180, cwd=tmp_path)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        [qt] = [ln for ln in run.stdout.splitlines() if ln[5:].startswith("Qt")]
        assert "platform plugin 'xcb'" in qt, qt
        # The real window, started as the menu entry starts it: it greets a first start and
        # loads every model (the start-up report quits once they are ready).
        report = tmp_path / "startup.json"
        env |= {"PARLEY_STARTUP_REPORT": str(report), "PARLEY_CONFIG_DIR": str(tmp_path / "config"),
                "PARLEY_LAUNCH_T": repr(time.time())}  # fmt: skip
        start = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=300,
                               cwd=tmp_path)  # fmt: skip
    assert start.returncode == 0 and "Traceback" not in start.stderr, start.stderr
    figures = json.loads(report.read_text())
    assert figures["welcome"] and figures["window_shown"] < figures["all_ready"], figures
    assert {"stt_ready", "tts_ready"} <= figures.keys(), figures


def test_the_manual_page_reads_cleanly() -> None:
    run = subprocess.run(["man", "--warnings", "-l", "-E", "UTF-8", str(LINUX / "parley.1")],
                         capture_output=True, text=True, env=os.environ | {"MANWIDTH": "80"})  # fmt: skip
    if run.returncode and "not found" in run.stderr:
        pytest.skip("man is not installed")
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr
    assert "--self-test" in run.stdout and "settings.json" in run.stdout


def test_the_deb_installs_the_menu_entry_and_man_page_and_passes_lintian() -> None:
    debs = sorted((REPO / "dist").glob("parley_*_amd64.deb"))
    if not debs:
        pytest.skip("no .deb: packaging/build.sh builds it")
    listing = subprocess.run(["dpkg-deb", "-c", str(debs[-1])], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    for path in ("./usr/bin/parley", "./opt/parley/parley", f"./usr/share/applications/{APP_ID}.desktop",
                 "./usr/share/man/man1/parley.1.gz", "./usr/share/doc/parley/changelog.gz",
                 "./usr/share/lintian/overrides/parley"):  # fmt: skip
        assert path in listing, path
    control = subprocess.run(["dpkg-deb", "-f", str(debs[-1]), "Depends"], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    assert "libxcb-cursor0" in control and "libportaudio2" in control  # Qt's xcb, sounddevice
    report = REPO / "dist" / "lintian.txt"
    if not report.exists():
        pytest.skip("lintian was not installed when the .deb was built")
    tags = [ln for ln in report.read_text().splitlines() if ln[:3] in ("E: ", "W: ")]
    assert not tags, tags[:10]


def test_the_appdir_runs_through_its_apprun(tmp_path: Path) -> None:
    """The AppDir as appimagetool would pack it: AppRun starts the bundle inside it."""
    apprun = REPO / "dist" / "Parley.AppDir" / "AppRun"
    if not apprun.is_file():
        pytest.skip("no AppDir: packaging/build.sh stages it")
    env = _bundle_env() | {"QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([str(apprun), "--version"], capture_output=True, text=True, env=env,
                         timeout=120, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0 and run.stdout.startswith("parley "), run.stdout + run.stderr
    appdir = apprun.parent
    assert (appdir / f"{APP_ID}.desktop").is_file() and (appdir / f"{APP_ID}.png").is_file()
    run = subprocess.run([str(apprun), "--self-test"], capture_output=True, text=True, env=env,
                         timeout=180, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
