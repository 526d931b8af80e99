"""Finding, assembling and verifying model files."""

from app.models.errors import ModelError

__all__ = ["ModelError"]
