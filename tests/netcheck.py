"""Which sockets a process tree listens on, read from /proc (issue 14, item 14).

``listening(pid)`` walks the process and its descendants, collects the socket inodes of
their open files (``/proc/PID/fd``) and returns the matching TCP sockets in LISTEN state
and bound UDP sockets from ``/proc/PID/net/{tcp,tcp6,udp,udp6}`` (each process's own
network namespace), as (proto, address, port, command, interfaces of that namespace).
``non_loopback`` keeps those reachable from beyond the machine: bound to anything but
127.0.0.0/8 or ::1, in a namespace with an interface other than ``lo`` (pcscd has a
namespace of its own with loopback only, since vpcd binds INADDR_ANY).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from pathlib import Path

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _inodes(pid: int) -> set[str]:
    found = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", struct.unpack(">I", raw)[0]))
    words = struct.unpack("<4I", raw)  # four host-order 32-bit words
    return socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))


def _interfaces(pid: int) -> tuple[str, ...]:
    lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    return tuple(sorted(line.split(":")[0].strip() for line in lines))


def listening(pid: int) -> list[tuple[str, str, int, str, tuple[str, ...]]]:
    """(proto, address, port, command, interfaces) of every listening or bound socket of
    the tree."""
    owners: dict[str, str] = {}
    namespaces: dict[str, int] = {}  # network namespace → one process in it
    for p in descendants(pid):
        try:
            comm = Path(f"/proc/{p}/comm").read_text().strip()
            namespaces.setdefault(os.readlink(f"/proc/{p}/ns/net"), p)
        except OSError:
            continue
        for inode in _inodes(p):
            owners[inode] = f"{comm}[{p}]"
    out = []
    for p in namespaces.values():
        interfaces = _interfaces(p)
        for proto, wanted in (("tcp", TCP_LISTEN), ("tcp6", TCP_LISTEN),
                              ("udp", UDP_UNCONNECTED), ("udp6", UDP_UNCONNECTED)):
            for line in Path(f"/proc/{p}/net/{proto}").read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state != wanted or inode not in owners:
                    continue
                addr, port = local.split(":")
                out.append((proto, _address(addr), int(port, 16), owners[inode], interfaces))
    return out


def non_loopback(pid: int) -> list[tuple[str, str, int, str, tuple[str, ...]]]:
    def loopback(addr: str) -> bool:
        ip = ipaddress.ip_address(addr)
        mapped = getattr(ip, "ipv4_mapped", None)
        return (mapped or ip).is_loopback
    return [s for s in listening(pid) if not loopback(s[1]) and s[4] != ("lo",)]
