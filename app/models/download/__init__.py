"""Download one model file over HTTP(S): resumable, checked, and never half-finished.

The file grows as `<name>.part` next to its target and is renamed into place (os.replace)
only after its size and sha256 match. An interrupted download keeps the `.part` and resumes
with `Range: bytes=N-` (a server that answers 200 instead of 206 simply starts it over;
`If-Range` makes a server whose file changed send it whole). A corrupt file is deleted, a
full disk deletes the `.part`, and every network failure becomes a one-line DownloadError.

Threads: `Downloader.download` blocks; run it on a worker thread. The progress callback is
called on that thread, at most every `tuning.progress_interval` seconds (the GUI forwards it
with a Qt signal or `loop.call_soon_threadsafe`); `cancel()` may be called from any thread.

Only the standard library moves bytes (urllib): no new dependency, and proxies set in the
environment (https_proxy, no_proxy) work as they do for pip.

The parts: `downloader` (the retry loop and one HTTP request), `part_file` (where the bytes
go), `http_answers` (what the server said, failures in words), `meter` (speed and throttled
progress), `results` (errors, progress and result), `hub` (a hub file's URL).
"""

from app.models.download.downloader import Downloader, DownloadTuning
from app.models.download.hub import hub_url
from app.models.download.part_file import safe_target
from app.models.download.results import (
    DownloadCancelled,
    DownloadError,
    DownloadProgress,
    DownloadResult,
    ProgressCallback,
)

__all__ = [
    "DownloadCancelled",
    "DownloadError",
    "DownloadProgress",
    "DownloadResult",
    "DownloadTuning",
    "Downloader",
    "ProgressCallback",
    "hub_url",
    "safe_target",
]
