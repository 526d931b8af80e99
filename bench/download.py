"""Download throughput: Parley's Downloader against curl, same file, same local server.

A random file (200 MB by default) is served on 127.0.0.1 by tests/range_server.py running in
its own process (sendfile, so the server is not what is measured). Each run downloads it
once with `curl -o` and once with `Downloader.download` (size and sha256 pinned, so Parley
also hashes every byte and fsyncs before the rename, as it does for users); the order
alternates between runs. `curl+sha256sum` is curl followed by `sha256sum` of its output: the
same work Parley does, done by two C programs one after the other.

    .venv/bin/python bench/download.py [--mb 200] [--runs 5] [--out results.json]

Prints one JSON object: medians in seconds and MB/s, and the ratios of Parley's throughput
to curl's and to curl+sha256sum's (1.0 = as fast).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.models.download import Downloader  # noqa: E402

SERVER = """
import sys, threading
from pathlib import Path
from tests.range_server import RangeServer, Resource
srv = RangeServer()
srv.add("/file.bin", Resource(file=Path(sys.argv[1]), etag='"bench"'))
srv.__enter__()
print(srv.port, flush=True)
sys.stdin.read()  # serve until the parent closes our stdin
srv.__exit__()
"""


def make_file(path: Path, mb: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        for _ in range(mb):
            block = os.urandom(1_000_000)
            fh.write(block)
            digest.update(block)
    return digest.hexdigest()


def run_curl(curl: str, url: str, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([curl, "-s", "-f", "-o", str(out), url], check=True)
    return time.perf_counter() - start


def run_curl_sha(curl: str, url: str, out: Path, sha: str) -> float:
    start = time.perf_counter()
    subprocess.run([curl, "-s", "-f", "-o", str(out), url], check=True)
    got = subprocess.run(["sha256sum", str(out)], check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert got.stdout.split()[0] == sha
    return elapsed


def run_parley(url: str, root: Path, size: int, sha: str) -> float:
    start = time.perf_counter()
    result = Downloader(root).download(url, "file.bin", size=size, sha256=sha)
    elapsed = time.perf_counter() - start
    assert result.fetched == size and result.sha256 == sha
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=200, help="file size in MB (10^6 bytes)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    curl = shutil.which("curl")
    if not curl:
        print("bench/download.py needs curl (apt-get install -y curl)", file=sys.stderr)
        return 1
    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="parley-dl-bench-") as tmp_name:
        tmp = Path(tmp_name)
        src = tmp / "served.bin"
        sha = make_file(src, args.mb)
        size = src.stat().st_size
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(src)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=repo,
        )
        try:
            assert server.stdout is not None
            url = f"http://127.0.0.1:{server.stdout.readline().strip()}/file.bin"
            times: dict[str, list[float]] = {"parley": [], "curl": [], "curl+sha256sum": []}
            for i in range(args.runs):
                order = ["parley", "curl", "curl+sha256sum"]
                if i % 2:
                    order.reverse()
                for name in order:
                    out_dir = tmp / f"out-{name}"
                    shutil.rmtree(out_dir, ignore_errors=True)
                    out_dir.mkdir()
                    if name == "parley":
                        t = run_parley(url, out_dir, size, sha)
                    elif name == "curl":
                        t = run_curl(curl, url, out_dir / "file.bin")
                    else:
                        t = run_curl_sha(curl, url, out_dir / "file.bin", sha)
                    times[name].append(t)
                    shutil.rmtree(out_dir)
        finally:
            if server.stdin:
                server.stdin.close()
            server.wait(10)
    med = {k: statistics.median(v) for k, v in times.items()}
    mbps = {k: size / 1e6 / v for k, v in med.items()}
    result = {
        "file_mb": size / 1e6,
        "runs": args.runs,
        "median_s": {k: round(v, 3) for k, v in med.items()},
        "median_mb_per_s": {k: round(v, 1) for k, v in mbps.items()},
        "all_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "ratio_parley_to_curl": round(mbps["parley"] / mbps["curl"], 3),
        "ratio_parley_to_curl_plus_sha256sum": round(mbps["parley"] / mbps["curl+sha256sum"], 3),
        "notes": "parley hashes (sha256) and fsyncs while downloading; curl does neither",
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
