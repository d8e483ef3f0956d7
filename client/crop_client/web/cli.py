"""`cropctl web` and `cropctl web token`: the logic, as plain functions.

`serve` checks the bind and the token (under cropctl it then re-executes itself
as `python -m crop_client.web`, leaving cropctl's imports behind), binds the
listening socket itself (so `--bind 127.0.0.1:0` works and the printed address
is the real one), prints the address to open and runs uvicorn until Ctrl+C.
`token` prints the token alone.
`command` declares both for cropctl; `python -m crop_client.web` runs `serve`.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from crop_client.cropctl.errors import CtlError, report
from crop_client.web.tokenfile import TokenError, default_token_file, make_token, read_token

DEFAULT_BIND = "127.0.0.1:8765"
MISSING_EXTRA = ("the dashboard needs the `web` extra (Starlette and uvicorn): "
                 "pip install 'crop-progress[web]'")


def parse_bind(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[v6]:PORT` or `:PORT` (loopback) into (host, port)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise CtlError(f"--bind takes HOST:PORT, such as {DEFAULT_BIND}, not {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token_path(token_file: str | None) -> Path:
    return Path(token_file).expanduser() if token_file else default_token_file()


def check(host: str, token_file: str | None) -> str | None:
    """The token the dashboard will ask for, or None; refuses a network bind without one."""
    path = _token_path(token_file)
    try:
        token = read_token(path)
    except TokenError as exc:
        raise CtlError(str(exc)) from None
    if token is None and not is_loopback(host):
        option = f" --token-file {token_file}" if token_file else ""
        raise CtlError(f"refusing to serve on {host} without a token: anyone who can reach "
                       f"this machine could read your progress. Run `cropctl web token{option}`"
                       " first, then start again and open the address printed")
    return token


def listen(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CtlError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by each accepted connection: a small answer written in two parts
    # (head, body) must not wait out the peer's delayed ACK (40 ms on Linux).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise CtlError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def lan_address() -> str | None:
    """This machine's address on its network (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    except OSError:
        return None
    finally:
        probe.close()


def urls(host: str, port: int, token: str | None) -> list[str]:
    suffix = f"/?token={token}" if token else "/"
    if host in ("0.0.0.0", "::"):
        hosts = ["127.0.0.1"] + [a for a in [lan_address()] if a]
    else:
        hosts = [host]
    return [f"http://{f'[{h}]' if ':' in h else h}:{port}{suffix}" for h in hosts]


def _has_display() -> bool:
    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def serve(bind: str = DEFAULT_BIND, token_file: str | None = None, open_browser: bool = True,
          endpoint: str | None = None, fresh_process: bool = False) -> int:
    """Run the dashboard until interrupted; the exit code. `fresh_process`: once the
    bind and token are checked, replace this process with `python -m crop_client.web`
    (cropctl's command line holds imports the dashboard does not need)."""
    try:
        import uvicorn

        from crop_client.web.app import build
        from crop_client.web.source import Source
    except ImportError:
        raise CtlError(MISSING_EXTRA) from None
    host, port = parse_bind(bind)
    token = check(host, token_file)
    if fresh_process and os.name == "posix" and endpoint is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, "-m", "crop_client.web", "--bind", bind,
                                  *(["--token-file", token_file] if token_file else []),
                                  "--open" if open_browser else "--no-open"])
    sock = listen(host, port)
    port = sock.getsockname()[1]
    addresses = urls(host, port, token)
    print(f"Dashboard: {addresses[0]}", flush=True)
    for other in addresses[1:]:
        print(f"  on the network: {other}", flush=True)
    print("Read-only; Ctrl+C stops it.", flush=True)
    if open_browser and _has_display():
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(addresses[0],), daemon=True).start()
    app = build(Source(endpoint), token)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5, proxy_headers=False,
                            server_header=False)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.board.hub.close_soon()  # open event streams end, so shutdown need not wait
            super().handle_exit(sig, frame)

    server = Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


def token(token_file: str | None = None, rotate: bool = False) -> int:
    """`cropctl web token [--rotate]`: the token alone on stdout (made when missing)."""
    path = _token_path(token_file)
    try:
        value, made = make_token(path, rotate=rotate)
    except TokenError as exc:
        raise CtlError(str(exc)) from None
    except OSError as exc:
        raise CtlError(f"cannot write the token file {path}: {exc.strerror or exc}") from None
    print(value)
    if made:
        print(f"(new token in {path}; a running dashboard keeps its old one until restarted)",
              file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m crop_client.web",
                                     description="The read-only web dashboard of crop-progress.")
    parser.add_argument("--bind", default=DEFAULT_BIND, metavar="HOST:PORT")
    parser.add_argument("--token-file", metavar="PATH")
    parser.add_argument("--open", dest="open_browser", action=argparse.BooleanOptionalAction,
                        default=True)
    args = parser.parse_args(argv)
    try:
        code = serve(args.bind, args.token_file, args.open_browser)
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        code = report(exc)
    sys.exit(code)
