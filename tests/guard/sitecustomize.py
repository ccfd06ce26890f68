"""The tests' hostile machine, loaded by every Python process started with this folder on PYTHONPATH
(``conftest.guarded_env``): network access fails loudly, and a look into the torch hub cache
($TORCH_HOME) is written down. Each process also writes one line when it ends, so a test can tell
that the guard was in the stage processes at all.

The log, ``$HW2_GUARD_LOG``, gets one line per event: ``<pid> <what> <detail>``.
"""

from __future__ import annotations

import atexit
import os
import socket
import sys

_LOG = os.environ.get("HW2_GUARD_LOG")
_HUB = os.environ.get("TORCH_HOME")


def _write(what: str, detail: object) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {what} {detail!r}\n")


def _refuse(name: str, original):
    def refused(*args, **kwargs):
        sock = args[0] if args and isinstance(args[0], socket.socket) else None
        if sock is not None and sock.family == getattr(socket, "AF_UNIX", None):
            return original(*args, **kwargs)  # a local pipe, not the network
        _write("network", f"{name}{args[1:] if sock is not None else args}")
        raise OSError(f"network access refused by the tests' socket guard ({name})")

    return refused


socket.getaddrinfo = _refuse("getaddrinfo", socket.getaddrinfo)
socket.create_connection = _refuse("create_connection", socket.create_connection)
socket.socket.connect = _refuse("connect", socket.socket.connect)  # type: ignore[method-assign]
socket.socket.connect_ex = _refuse("connect_ex", socket.socket.connect_ex)  # type: ignore[method-assign]


def _watching(hub: str):
    watched = ("open", "os.listdir", "os.scandir", "shutil.copyfile", "os.rename", "os.remove")

    def watch(event: str, args: tuple) -> None:
        if event in watched and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.abspath(os.fsdecode(args[0]))
            if path.startswith(hub):
                _write("hub", f"{event} {path}")

    return watch


if _HUB:
    sys.addaudithook(_watching(_HUB))

atexit.register(_write, "ran", sys.argv)
