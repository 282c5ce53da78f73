"""Signed remote commands (kiosk/security/remote.py) and the domain's remote actions.

The real Ed25519 signatures of the station and its sessions, checked as kiosk-core checks
them: the station's own command passes once; a forged, tampered, other station's, expired,
stale, other lane's or replayed one is refused with its reason.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.bus.messages import encode, parse_command
from kiosk.security.remote import (
    RemoteRefused,
    RemoteVerifier,
    load_public_key,
    open_session,
    public_text,
    station_key,
)
from tests.fixtures.sample_items import MILK, SOJU

NOW = 1_800_000_000.0


@pytest.fixture
def station(tmp_path):
    key = station_key(tmp_path / "station.key", create=True)
    (tmp_path / "station.pub").write_text(public_text(key) + "\n")
    return key, load_public_key(tmp_path / "station.pub")


def _wire(msg: dict) -> dict:
    """The command as kiosk-core sees it: through the bus schema."""
    return parse_command(encode(msg), 8192)


def _refused(verifier: RemoteVerifier, msg: dict, now: float = NOW) -> RemoteRefused:
    with pytest.raises(RemoteRefused) as info:
        verifier.verify(_wire(msg), now)
    return info.value


def test_key_file_is_private(tmp_path):
    path = tmp_path / "station.key"
    station_key(path, create=True)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(ValueError, match="0600"):
        station_key(path)


def test_the_station_session_command_passes_once(station):
    key, public = station
    session = open_session(key, "s1", "Alice", now=NOW)
    verifier = RemoteVerifier(public, "L1")
    msg = session.sign("L1", "approve_age", now=NOW)
    who = verifier.verify(_wire(msg), NOW + 1)
    assert (who.staff_id, who.action, who.session) == ("s1", "approve_age", session.sid)
    again = _refused(verifier, msg, NOW + 2)
    assert (again.reason, again.staff_id) == ("replayed", "s1")


def test_forged_and_tampered_commands_are_refused(station):
    key, public = station
    verifier = RemoteVerifier(public, "L1")
    session = open_session(key, "s1", "Alice", now=NOW)
    tampered = session.sign("L1", "approve_age", now=NOW)
    tampered["action"] = "cancel_basket"
    assert _refused(verifier, tampered).reason == "bad_signature"
    # a session the station never certified: its own certificate, signed by another key
    rogue = open_session(Ed25519PrivateKey.generate(), "s1", "Alice", now=NOW)
    assert _refused(verifier, rogue.sign("L1", "approve_age", now=NOW)).reason \
        == "bad_certificate"
    # a real certificate with a command signed by another key
    other = open_session(key, "s2", "Bob", now=NOW)
    stolen = session.sign("L1", "approve_age", now=NOW)
    stolen["sig"] = other.sign("L1", "approve_age", now=NOW)["sig"]
    assert _refused(verifier, stolen).reason == "bad_signature"
    # the certificate's body changed (another attendant named): the station's signature fails
    raw, sig = session.cert.split(".")
    body = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    body["staff_id"] = "boss"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    msg = session.sign("L1", "approve_age", now=NOW)
    msg["cert"] = f"{forged}.{sig}"
    assert _refused(verifier, msg).reason == "bad_certificate"


def test_other_lane_stale_expired_and_no_key(station):
    key, public = station
    verifier = RemoteVerifier(public, "L1", max_age_s=30)
    session = open_session(key, "s1", "Alice", valid_s=3600, now=NOW)
    assert _refused(verifier, session.sign("L2", "clear", now=NOW)).reason == "wrong_lane"
    assert _refused(verifier, session.sign("L1", "clear", now=NOW - 31)).reason == "stale"
    assert _refused(verifier, session.sign("L1", "clear", now=NOW + 31)).reason == "stale"
    assert _refused(verifier, session.sign("L1", "clear", now=NOW + 3601),
                    NOW + 3601).reason == "session_expired"
    assert _refused(RemoteVerifier(None, "L1"),
                    session.sign("L1", "clear", now=NOW)).reason == "remote_off"


def test_replay_known_to_the_journal_is_refused(station):
    key, public = station
    msg = open_session(key, "s1", "Alice", now=NOW).sign("L1", "clear", now=NOW)
    with pytest.raises(RemoteRefused, match="replayed"):
        RemoteVerifier(public, "L1").verify(_wire(msg), NOW, seen_before=True)


# -- the domain: what a remote action may do, and when ----------------------------------------



def _remote(lane, action: str, line_id: int | None = None) -> list[dict]:
    from kiosk.domain.checkout import decide_remote

    events = decide_remote(lane.state, action, line_id, "S100", lane.config)
    lane.commit(events)
    return events


def test_remote_age_approval_void_and_cancel(config, catalog):
    from kiosk.domain.checkout import Rejected
    from tests.unit.test_checkout import Lane, cmd

    lane = Lane(config, catalog)
    lane.do(cmd("scan", code=MILK))
    with pytest.raises(Rejected, match="not_allowed_now"):  # nothing waits for an attendant
        _remote(lane, "approve_age")
    lane.do(cmd("scan", code=SOJU))
    assert lane.state.attendant["reason"] == "age_restricted"
    with pytest.raises(Rejected, match="age_check_open"):
        _remote(lane, "clear")
    # no staff signed in at the lane: the attendant the signature names approves
    assert [(e["type"], e["staff_id"]) for e in _remote(lane, "approve_age")] == \
        [("age_approved", "S100")]
    assert lane.state.state == "shopping" and lane.state.staff is None
    assert [(e["type"], e["by"]) for e in _remote(lane, "void_line", 1)] == \
        [("line_removed", "S100")]
    assert [(e["reason"], e["staff_id"]) for e in _remote(lane, "cancel_basket")] == \
        [("staff", "S100")]
    assert lane.state.state == "attract"


def test_close_lane_waits_for_the_shopper_then_opens(config, catalog):
    from kiosk.domain.checkout import Rejected
    from tests.unit.test_checkout import Lane, cmd

    lane = Lane(config, catalog)
    lane.do(cmd("scan", code=MILK))
    assert _remote(lane, "close_lane")[0]["detail"] == "closed by S100"
    assert lane.state.state == "shopping"  # the shopper finishes first
    with pytest.raises(Rejected, match="lane_already_closed"):
        _remote(lane, "close_lane")
    lane.do(cmd("cancel"))
    assert lane.state.state == "out_of_service"
    lane.reject(cmd("scan", code=MILK), "not_allowed_now")
    _remote(lane, "open_lane")
    assert lane.state.state == "attract"
    with pytest.raises(Rejected, match="lane_not_closed"):
        _remote(lane, "open_lane")
