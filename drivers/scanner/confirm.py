"""Confirmation before publishing, and de-duplication of a code held in view.

A wrong item in the basket is worse than a slow read. EAN/UPC carry a single mod-10
check digit, and line-scanning decoders occasionally return a wrong code whose check
digit still holds (scan lines crossing the printed digits, blur merging bars). So a
read is only *confirmed* once it has enough independent votes inside a short window:

* a vote is one (frame, decoder) pair: the same text from two decoders on one frame,
  or from one decoder on two frames, is two votes;
* 1-D codes need ``votes_1d`` (2) when two decoders agree, ``votes_1d_one_decoder`` (3)
  when every vote comes from the same decoder (it can misread the same way on consecutive
  frames); 2-D codes need ``votes_2d`` (1: QR and DataMatrix carry Reed-Solomon error
  correction);
* a conflicting read (a different text of the same symbology family at the same place
  in the window) raises the bar by its own vote count, so a disputed code waits for a clear
  majority instead of publishing either reading. Sightings of a code already published
  and still held in view count as conflicting votes too: a second text at the very place
  of a code being held is that code misread (measured: zxing-cpp read a tilted UPC-E
  ``04252614`` as ``0132100005262``, check digit valid, on two frames in a row).

:class:`Presence` de-duplicates: once published, a code is *held* while it keeps being
seen; it counts again only after it was out of sight for ``holdoff_s`` (the shopper
took it away and brought the next one, or the same one back).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.scanner.decoders import Box

_EAN_UPC = frozenset({"EAN13", "EAN8", "UPCA", "UPCE"})


HELD_OVERLAP_S = 0.1  # a held code seen this close to a candidate's first vote contests it


def family(symbology: str) -> str:
    """Symbologies a misread can turn into each other (EAN and UPC share bar patterns)."""
    return "EAN/UPC" if symbology in _EAN_UPC else symbology


def same_place(a: Box, b: Box) -> bool:
    """Whether each box's centre lies inside the other grown by half its larger side
    (1-D boxes can be thin scan lines at different heights of the same code)."""
    def inside(box: Box, other: Box) -> bool:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        g = max(other[2] - other[0], other[3] - other[1]) / 2
        return other[0] - g <= cx <= other[2] + g and other[1] - g <= cy <= other[3] + g

    return inside(a, b) and inside(b, a)


@dataclass
class _Vote:
    t: float
    frame: int
    decoder: str
    box: Box


@dataclass
class Candidate:
    """The votes collected for one key."""

    key: str
    is_2d: bool
    family: str
    votes: list[_Vote] = field(default_factory=list)

    @property
    def first_t(self) -> float:
        return self.votes[0].t

    @property
    def first_frame(self) -> int:
        return self.votes[0].frame

    @property
    def decoders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.decoder for v in self.votes))

    @property
    def last_box(self) -> Box:
        return self.votes[-1].box


class Confirmer:
    def __init__(self, votes_1d: int, votes_2d: int, window_s: float,
                 votes_1d_one_decoder: int | None = None) -> None:
        self.votes_1d, self.votes_2d, self.window_s = votes_1d, votes_2d, window_s
        self.votes_1d_one_decoder = max(votes_1d, votes_1d_one_decoder or votes_1d)
        self._candidates: dict[str, Candidate] = {}
        self._held: dict[str, Candidate] = {}  # sightings of published codes still in view
        self.expired = 0  # candidates that never gathered enough votes (dropped reads)

    @property
    def pending(self) -> bool:
        return bool(self._candidates)

    def keys(self) -> set[str]:
        return set(self._candidates)

    def expire(self, t: float) -> int:
        """Drop votes older than the window; returns how many candidates died out."""
        gone = 0
        for key in list(self._candidates):
            cand = self._candidates[key]
            cand.votes = [v for v in cand.votes if t - v.t <= self.window_s]
            if not cand.votes:
                del self._candidates[key]
                gone += 1
        self.expired += gone
        for key in list(self._held):
            held = self._held[key]
            held.votes = [v for v in held.votes if t - v.t <= self.window_s]
            if not held.votes:
                del self._held[key]
        return gone

    def sighted(self, key: str, symbology: str, is_2d: bool, t: float, frame: int,
                decoder: str, box: Box) -> None:
        """A published code seen again: it contests other readings at its place made
        while it was in view (from just before their first vote on)."""
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = Candidate(key, is_2d, family(symbology))
        held.votes.append(_Vote(t, frame, decoder, box))

    def vote(self, key: str, symbology: str, is_2d: bool, t: float, frame: int, decoder: str,
             box: Box) -> None:
        cand = self._candidates.get(key)
        if cand is None:
            cand = self._candidates[key] = Candidate(key, is_2d, family(symbology))
        if any(v.frame == frame and v.decoder == decoder for v in cand.votes):
            return
        cand.votes.append(_Vote(t, frame, decoder, box))

    def confirmed(self) -> list[Candidate]:
        """Candidates that now have enough votes; they leave the confirmer."""
        done = []
        for key, cand in self._candidates.items():
            if cand.is_2d:
                need = self.votes_2d
            elif len(cand.decoders) > 1:
                need = self.votes_1d
            else:
                need = self.votes_1d_one_decoder
            rival = max((len(o.votes) for k, o in self._candidates.items()
                         if k != key and o.family == cand.family
                         and same_place(o.last_box, cand.last_box)), default=0)
            since = cand.first_t - HELD_OVERLAP_S
            held = max((sum(1 for v in o.votes if v.t >= since
                            and same_place(v.box, cand.last_box))
                        for k, o in self._held.items() if k != key and o.family == cand.family),
                       default=0)
            rival = max(rival, held)
            if len(cand.votes) >= need + rival:
                done.append(cand)
        for cand in done:
            del self._candidates[cand.key]
        return done


class Presence:
    def __init__(self, holdoff_s: float) -> None:
        self.holdoff_s = holdoff_s
        self._last_seen: dict[str, float] = {}

    def expire(self, t: float) -> None:
        for key in [k for k, seen in self._last_seen.items() if t - seen > self.holdoff_s]:
            del self._last_seen[key]

    def held(self, key: str) -> bool:
        return key in self._last_seen

    def seen(self, key: str, t: float) -> bool:
        """Refresh a held key; returns whether it was held (a duplicate)."""
        if key in self._last_seen:
            self._last_seen[key] = max(t, self._last_seen[key])
            return True
        return False

    def published(self, key: str, t: float) -> None:
        self._last_seen[key] = t

    def keys(self) -> list[str]:
        return list(self._last_seen)
