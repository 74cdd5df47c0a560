"""AIMA: AI Media Analysis, an open, self-hostable media-analysis pipeline on Prefect 3."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aima")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
