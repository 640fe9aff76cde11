"""Sources -> Article: one entry point per input type, all feeding the same records."""
from .files import READERS, ReadReport, read_paths

__all__ = ["READERS", "ReadReport", "read_paths"]
