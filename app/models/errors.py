"""The one error type model code raises: its message is shown to the user as is."""


class ModelError(Exception):
    """A model file is missing, corrupt or unusable; `str(exc)` says which file and what to do."""
