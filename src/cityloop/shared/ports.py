"""Ports of the demo's device listeners: derived from the web port, or any free one, so two demos never collide."""

from __future__ import annotations

import socket
from collections.abc import Mapping

# env variable → offset from the web port (8000 → JT/T 808 on 8808, HJ 212 on 8212)
LISTENERS = {"CITYLOOP_JT808_PORT": 808, "CITYLOOP_SENSOR_HJ212_PORT": 212}


def is_free(host: str, port: int) -> bool:
    """Whether a TCP listener could bind host:port now."""
    if not 0 < port < 65536:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port the system has free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def listener_ports(web_port: int, host: str, env: Mapping[str, str]) -> dict[str, int]:
    """Each listener's port: as configured in env, else web port + offset when free, else a free one."""
    out: dict[str, int] = {}
    for name, offset in LISTENERS.items():
        if env.get(name):
            out[name] = int(env[name])
            continue
        wanted = web_port + offset
        out[name] = wanted if is_free(host, wanted) and wanted not in out.values() else free_port(host)
    return out
