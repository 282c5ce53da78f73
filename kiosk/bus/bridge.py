"""The lane broker's bridge to the store broker (the attendant station's transport).

Each lane's mosquitto connects to the store broker over TLS as the lane's own user
(``lane-<id>``, :func:`kiosk.bus.acl.lane_user`) and bridges only the topics
:func:`kiosk.bus.acl.bridged_topics` names: its state, core status and command results out,
the station's signed commands in. The store broker's ACL (:func:`kiosk.bus.acl.store_acl_text`)
lets that user publish for its own lane only. When the store network is down the lane sells
on alone (its own broker, its own PIN pad) and the bridge reconnects by itself; meanwhile the
store broker holds the bridge's will (``kiosk/v1/<lane>/bridge`` = ``0``), so the station
shows the lane unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.bus.acl import bridge_status_topic, bridged_topics, lane_user

#: where a lane's bridge file goes (``kiosk attendant bridge -o``, docs/attendant.md): the
#: device mosquitto's conf.d, which Debian's mosquitto.conf includes
DEVICE_BRIDGE_DIR = Path("/etc/mosquitto/conf.d")


@dataclass(frozen=True)
class StoreLink:
    """Where the store broker is and how a lane proves who it is there."""

    host: str
    port: int
    cafile: Path        # the CA that signed the store broker's certificate
    password: str       # the lane user's password on the store broker

    def __repr__(self) -> str:  # never print the password
        return f"StoreLink({self.host}:{self.port})"


def bridge_text(lane: str, link: StoreLink) -> str:
    """mosquitto.conf lines of the lane's bridge (the file holding them is mode 0600: it
    carries the lane's store password)."""
    user = lane_user(lane)
    lines = [
        "connection store",
        f"address {link.host}:{link.port}",
        f"remote_username {user}",
        f"remote_password {link.password}",
        f"remote_clientid {user}",   # one session per lane on the store broker
        f"bridge_cafile {link.cafile}",
        "bridge_insecure false",     # the store broker's certificate must name its host
        "bridge_protocol_version mqttv311",
        "cleansession true",
        "try_private false",
        # "1" retained while connected; the store broker publishes the will "0" when the
        # lane drops off the store network (the station shows the lane unreachable)
        "notifications true",
        f"notification_topic {bridge_status_topic(lane)}",
        "restart_timeout 1 10",
        "start_type automatic",
    ]
    lines += [f"topic {topic} {direction} 1" for topic, direction in bridged_topics(lane)]
    return "\n".join(lines) + "\n"


def bridge_cafiles(conf_dir: Path = DEVICE_BRIDGE_DIR) -> list[tuple[Path, Path | None]]:
    """(conf file, its ``bridge_cafile``) for every ``*.conf`` in ``conf_dir`` that bridges;
    (conf file, None) for one this user may not read (a bridge file is mode 0600: it holds
    the lane's store password, which is never returned)."""
    found: list[tuple[Path, Path | None]] = []
    for conf in sorted(conf_dir.glob("*.conf")):
        try:
            lines = conf.read_text(errors="replace").splitlines()
        except PermissionError:
            found.append((conf, None))
            continue
        except OSError:
            continue
        for line in lines:
            words = line.split(None, 1)
            if len(words) == 2 and words[0] == "bridge_cafile":
                found.append((conf, Path(words[1].strip())))
    return found
