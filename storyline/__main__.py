import sys

from .cli import entry

if __name__ == "__main__":  # not when a spawned helper imports this module (as __mp_main__)
    sys.exit(entry())
