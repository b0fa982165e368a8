"""The version of SafeTwin, in one place (a leaf: the package metadata and the API read it here)."""

__version__ = "0.1.0"
