"""flexunion: a union federation service for platform workers."""

__version__ = "0.1.0"
