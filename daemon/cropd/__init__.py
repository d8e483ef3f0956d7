"""cropd: the progress daemon, the only process that reads or writes progress files.

lock → restore → bind → loop. One thread owns all state; one module per
request handler under `handlers/`; replies that say "done" leave only after
the change is durable on disk.
"""

from crop_progress import __version__

__all__ = ["__version__"]
