"""crop-progress core: the progress model, its store and everything that needs no IPC.

Owns the on-disk truth (progress files, audit log, locations); the daemon is the
only writer, clients use it for paths and display helpers only.
"""

__version__ = "0.1.0"
