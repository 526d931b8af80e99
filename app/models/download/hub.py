"""Where a file of a Hugging Face hub repository (or of a mirror) is downloaded from."""

from __future__ import annotations

import os


def hub_url(repo: str, revision: str, path: str, endpoint: str | None = None) -> str:
    """The download URL of a file on the Hugging Face hub (or a mirror: HF_ENDPOINT)."""
    from huggingface_hub import hf_hub_url  # only to spell the URL; it downloads nothing here

    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or "").rstrip("/") or None
    return hf_hub_url(repo, path, revision=revision, endpoint=endpoint)
