"""SafeTwin: an open-source safety digital twin for industrial plants."""

__version__ = "0.1.0"
