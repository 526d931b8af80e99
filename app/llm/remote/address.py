"""An LLM server's address as the user types it: checked and split without connecting."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.models.errors import ModelError


def address_problem(url: str) -> str:
    """Why `url` cannot be an LLM server's address ('' when it can), without connecting."""
    try:
        normalise(url)
    except ModelError as exc:
        return str(exc)
    return ""


def normalise(url: str) -> tuple[str, str, str, str]:
    """(scheme, host[:port], path of the API root without /v1, display URL) for a base URL.

    Accepts `http://host:8080`, `http://host:8080/v1`, `https://host/some/prefix/v1/`."""
    raw = url.strip()
    if "://" not in raw:
        raw = "http://" + raw  # "localhost:8080" is what people type
    shown = raw.rstrip("/")
    if any(c.isspace() or not c.isprintable() for c in raw):
        # http.client would refuse it later with its own wording (InvalidURL).
        raise ModelError(
            f"The LLM server address {shown!r} contains a space or another invisible "
            "character; type it without, for example http://localhost:8080/v1."
        )
    try:
        parts = urlsplit(raw)
    except ValueError:  # "Invalid IPv6 URL", in the standard library's words
        raise ModelError(
            f"The LLM server address {shown} is not a valid address; check its brackets "
            "(an IPv6 address is written http://[::1]:8080/v1)."
        ) from None
    if parts.scheme not in ("http", "https"):
        raise ModelError(f"The LLM server address {shown} must start with http:// or https://.")
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up in logs and window titles; keep them in the key field.
        raise ModelError(
            "The LLM server address must not contain a user name or password. "
            "Put the API key in the API key setting instead."
        )
    if not parts.hostname:
        raise ModelError(f"The LLM server address {shown} has no host name.")
    if parts.query or parts.fragment:
        raise ModelError(
            f"The LLM server address {shown} should be just the server and path, "
            "without ?… or #…, for example http://localhost:8080/v1."
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port number
    except ValueError:
        raise ModelError(f"The LLM server address {shown} has an invalid port.") from None
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return parts.scheme, parts.netloc, path, shown


def display_name(model_id: str) -> str:
    # llama-cpp-python's server names a model by its file path; show the file name.
    if model_id.startswith("/") or "\\" in model_id:
        name = model_id.replace("\\", "/").rsplit("/", 1)[-1]
        return name[: -len(".gguf")] if name.endswith(".gguf") else name
    return model_id
