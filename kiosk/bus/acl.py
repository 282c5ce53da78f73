"""Who may do what on the bus: the one table of bus users, their topics and their commands.

Every service has its own bus username (``kiosk-core``, ``kiosk-ui``, ...) and password. The
broker's ACL file is generated from :data:`USERS`, whose topics come from
:class:`kiosk.bus.messages.Topics` for every lane (``+``), so the ACL cannot drift from the
topics the code uses. kiosk-core enforces the second half: a command is accepted only if its
type is one the sending service may send (:func:`may_send`), the sender being the topic the
broker let it publish on, never the self-declared ``source``.

The scanner's command topic carries the shopper's wallet payment code (``wallet_code``, a
bearer credential): kiosk-core is the only user that may read it. The operator tools'
``kiosk-cli`` reads everything else (mosquitto's ``topic deny``, checked before its grants,
also on each message delivered to a ``kiosk/#`` subscription), and only kiosk-scanner may send
a ``wallet_code`` (:data:`SENDER_ONLY`), whatever another user's command list says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.bus.messages import ROOT, Topics

_ALL = Topics("+")

#: what a shopper may ask for, by touch or by voice
SHOPPER_INTENTS = frozenset({"touch", "help", "start", "set_language", "checkout", "pay",
                             "receipt", "choose_app", "back", "cancel", "done", "cancel_help",
                             "put_aside", "own_bag", "rate"})
#: command types only one service may send, even a user allowed every command (``*``)
SENDER_ONLY = {"wallet_code": "scanner", "remote": "attendant"}
#: the attendant station's command topic on a lane (``cmd/from/attendant``): no local user
#: writes it; the lane broker's bridge brings it in from the store broker, and kiosk-core
#: takes only signed ``remote`` commands from it (kiosk/security/remote.py)
REMOTE_SENDER = "attendant"


@dataclass(frozen=True)
class BusUser:
    username: str
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    #: command types this user may send on its own command topic (None: not a sender)
    commands: frozenset[str] | None = None
    #: devices whose health this user may report with a ``device`` command
    devices: frozenset[str] = field(default_factory=frozenset)
    #: topics this user may neither read nor write, though a broader grant covers them
    denies: tuple[str, ...] = ()

    @property
    def service(self) -> str:
        """The short name used in its command topic and as ``source``: ``kiosk-ui`` → ``ui``."""
        return self.username.removeprefix("kiosk-")


def _user(username: str, reads: tuple[str, ...] = (), writes: tuple[str, ...] = (),
          commands: frozenset[str] | None = None,
          devices: frozenset[str] = frozenset(), denies: tuple[str, ...] = ()) -> BusUser:
    service = username.removeprefix("kiosk-")
    if commands is not None:
        writes = (_ALL.command_from(service), *writes)
    return BusUser(username, reads, writes, commands, devices, denies)


_STATE = (_ALL.state, _ALL.core_status, _ALL.result)

USERS: tuple[BusUser, ...] = (
    # kiosk-core writes to the command topics only to clear a retained command (empty payload)
    _user("kiosk-core", reads=(_ALL.commands, _ALL.scales),
          writes=(_ALL.state, _ALL.result, _ALL.core_status, _ALL.feedback, _ALL.commands)),
    # the UI reads feedback for the scanner's refusals it explains (a GS1 weight code)
    _user("kiosk-ui", reads=(*_STATE, _ALL.keypad, _ALL.feedback, _ALL.voice_status,
                             _ALL.scales),
          commands=SHOPPER_INTENTS | {"scan", "add_plu", "set_quantity", "remove_line",
                                      "staff_pin", "attendant"}),
    # voice sees the gpio's help button (it starts accessible mode), no other service's commands
    # add_plu: a loose item named ("bananas"), priced by the core from the produce scale
    _user("kiosk-voice", reads=(*_STATE, _ALL.keypad, _ALL.headset, _ALL.command_from("gpio")),
          writes=(_ALL.voice_status,), commands=SHOPPER_INTENTS | {"add_plu"}),
    _user("kiosk-scanner",
          writes=(_ALL.scanner_events, _ALL.scanner_status, _ALL.feedback),
          commands=frozenset({"scan", "wallet_code", "device"}), devices=frozenset({"scanner"})),
    # kiosk-scale@produce, kiosk-scale@bagging: the live weight of each scale, nothing else
    _user("kiosk-scale", writes=(_ALL.scales,)),
    _user("kiosk-gpio", reads=(_ALL.state, _ALL.core_status, _ALL.feedback),
          writes=(_ALL.keypad,),
          commands=frozenset({"help", "device"}), devices=frozenset({"door"})),
    # kiosk-sync: ships the journal to the back office (HTTPS, not the bus); on the bus only
    # its retained health, the sync lag (kiosk doctor and the operator's tools read it)
    _user("kiosk-sync", writes=(_ALL.sync_status,)),
    # kiosk-metrics: the lane's health for Prometheus; it only reads the retained health
    _user("kiosk-metrics", reads=(_ALL.state, _ALL.core_status, _ALL.sync_status)),
    # kiosk-fault@: a unit failed for good; it closes the lane (core status offline, the red
    # light). Its own user: logging in as kiosk-core would take the running core's session.
    _user("kiosk-fault", writes=(_ALL.core_status,)),
    # operator and demo tools (`kiosk sim ...`, `kiosk run`, benches, tests): the password
    # file is root's on a device; they read everything but the scanner's commands (a shopper's
    # wallet payment code travels there) and may send every command but a wallet code
    _user("kiosk-cli", reads=(f"{ROOT}/#",),
          writes=(_ALL.keypad, _ALL.headset, _ALL.bench),
          commands=frozenset({"*"}), devices=frozenset({"*"}),
          denies=(_ALL.command_from("scanner"),)),
)
USERNAMES: tuple[str, ...] = tuple(u.username for u in USERS)
_BY_SERVICE = {u.service: u for u in USERS}


def user(username: str) -> BusUser:
    for candidate in USERS:
        if candidate.username == username:
            return candidate
    raise KeyError(f"unknown bus user {username!r} (known: {', '.join(USERNAMES)})")


def may_send(service: str, cmd: dict) -> bool:
    """True when ``service`` (the sender's command topic) may send this parsed command."""
    if service == REMOTE_SENDER:
        return cmd["type"] == "remote"
    sender = _BY_SERVICE.get(service)
    if sender is None or sender.commands is None:
        return False
    if SENDER_ONLY.get(cmd["type"], service) != service:
        return False
    if "*" not in sender.commands and cmd["type"] not in sender.commands:
        return False
    if cmd["type"] == "device":
        return "*" in sender.devices or cmd["device"] in sender.devices
    return True


def acl_text() -> str:
    """The broker's ACL file (mosquitto ``acl_file`` format); anonymous clients get nothing."""
    lines = ["# Generated by `kiosk bus provision` from kiosk/bus/acl.py: do not edit.",
             "# A topic not listed for a user is neither readable nor writable by it."]
    for u in USERS:
        lines += ["", f"user {u.username}"]
        lines += [f"topic deny {t}" for t in u.denies]
        lines += [f"topic read {t}" for t in u.reads]
        lines += [f"topic write {t}" for t in u.writes]
    return "\n".join(lines) + "\n"


# -- the store broker (the attendant station's): one user per lane, and the station ----------

#: the attendant station's user on the store broker
STATION_USER = "kiosk-attendant"


def lane_user(lane: str) -> str:
    """A lane's bridge user on the store broker (its own credential: ``lane-<id>``)."""
    return f"lane-{lane}"


def bridged_topics(lane: str) -> tuple[tuple[str, str], ...]:
    """What a lane's broker bridges to the store broker: (topic, direction): its state,
    its core status and its command results out, the station's commands in."""
    t = Topics(lane)
    return ((t.state, "out"), (t.core_status, "out"), (t.result, "out"),
            (t.command_from(REMOTE_SENDER), "in"))


def bridge_status_topic(lane: str) -> str:
    """Where a lane's bridge says whether it is connected (retained ``1``; its will, ``0``,
    published by the store broker when the lane drops off the store network)."""
    return f"{ROOT}/{lane}/bridge"


def store_acl_text(lanes: tuple[str, ...] | list[str]) -> str:
    """The store broker's ACL: each lane may publish only its own state, status and results
    and read only its own station commands (a lane cannot speak for another, nor command
    one); the station reads every lane and writes only the station's command topics."""
    lines = ["# Generated by kiosk/bus/acl.py (store_acl_text): do not edit.",
             "# A topic not listed for a user is neither readable nor writable by it."]
    for lane in lanes:
        lines += ["", f"user {lane_user(lane)}"]
        for topic, direction in bridged_topics(lane):
            lines.append(f"topic {'write' if direction == 'out' else 'read'} {topic}")
        lines.append(f"topic write {bridge_status_topic(lane)}")
    lines += ["", f"user {STATION_USER}"]
    for topic, direction in bridged_topics("+"):
        lines.append(f"topic {'read' if direction == 'out' else 'write'} {topic}")
    lines.append(f"topic read {bridge_status_topic('+')}")
    return "\n".join(lines) + "\n"
