"""Parley: a local, private desktop voice assistant that can also see."""

__version__ = "0.1.0"
APP_NAME = "parley"
