"""The crop window of `multicrop` (without `--auto`): `run_window(options) -> exit code`.

Modules, from the inside out: geometry (boxes, mapping, drags), suggestion
(`.decision` files), preview (reduced decoding, saliency maps, prefetch),
batch (the batch on screen and what submit does), backend (the thread that
owns the Session and does the file work), flow (the window's rules without
Tk: events in, commands and a render model out; with precision and view),
panel (one image column,
the loupe), keys (SPEC's key table and the new keys), window (draws the
flow's view and binds keys), instrument (debug outputs for tests and the
benchmark).
"""

from __future__ import annotations

import sys

from crop_client.multicrop.gui.services import Services
from crop_client.multicrop.options import Options

NO_DISPLAY_HINT = ("multicrop: cannot open a window ({reason}); "
                   "run `multicrop --auto keep DIR` or `--auto center` to work without one")


def run_window(options: Options, services: Services | None = None) -> int:
    """Open the window on `options.directories`; 0 when it ran, 1 on input errors,
    2 when the daemon cannot be reached or started."""
    import tkinter as tk

    missing = [str(d) for d in options.directories if not d.is_dir()]
    if missing:
        print(f"multicrop: not a directory: {missing[0]}", file=sys.stderr)
        return 1
    try:
        root = tk.Tk(className="multicrop")
    except tk.TclError as error:
        print(NO_DISPLAY_HINT.format(reason=str(error).splitlines()[0]), file=sys.stderr)
        return 1

    from crop_client.multicrop.gui.backend import Backend, Close
    from crop_client.multicrop.gui.instrument import Instrument
    from crop_client.multicrop.gui.window import CropWindow

    if services is None:
        from crop_client.multicrop.gui.services import real_services
        services = real_services(options.png_level)
    suggest = options.suggest == "saliency"
    if suggest:
        from crop_client import suggest as engine

        if engine.problem():
            print(f"multicrop: {engine.problem()}", file=sys.stderr, flush=True)
            suggest = False
    backend = Backend(services, options.endpoint)
    window = CropWindow(root, options, backend, Instrument(), shape=options.shape,
                        suggest=suggest)
    backend.start()
    window.start()
    try:
        root.mainloop()
    except KeyboardInterrupt:   # Ctrl+C in the terminal: still say goodbye, claims go back
        if not window.closing:
            backend.post(Close())
    backend.join(timeout=10)
    return window.exit_code
