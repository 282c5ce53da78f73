"""The bagging-area check (loss prevention): pure rules, fed by the bagging scale.

After each scan the lane expects the item's weight to arrive on the bagging scale; kiosk-core
keeps one :class:`BaggingMonitor` per lane, hands it the basket's changes and every reading
of the ``bagging`` scale, and commits the events it returns (:mod:`kiosk.domain.events`):

* ``bagging_alert`` ``unexpected_item``: the weight went up by something no scan accounts for
  (bagged without a scan), held for ``grace_s`` first (a scan may be on its way);
* ``bagging_alert`` ``missing_item``: a scanned item did not arrive within ``wait_s``;
* ``bagging_alert`` ``removed_item``: the weight went down with no line removed;
* ``bagging_cleared``: put right by the shopper (the weight came back, the item arrived),
  overridden by staff (the weight as it is now is taken as right), or the shopper's own bag.

An alert takes the lane to ``attendant_needed`` with the alert's kind as its reason (the
light, the voice prompt, the screen and the attendant station follow the state). An item's
expected weight and tolerance come from the catalog (optional columns) or are learned from
attended sales (:func:`learned_weight`); an item without one accepts any increase up to
``unknown_max_g`` as itself. An item (``check`` off: heavy, light or bulky) or the whole
store (``[bagging] enabled = false``) may be left out. "I brought a bag" lets one increase up
to ``own_bag_max_g`` in as the shopper's bag, also to clear an unexpected-item alert.

The monitor only raises alerts while the lane is ``shopping`` (from checkout on, the bagging
area is the shopper's to pack); its own state (the accounted weight, the items on their way)
is the present, not history: after a restart it starts from the scale's weight at that time.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from pydantic import Field

from kiosk.domain import events as E
from kiosk.domain.strict import Strict


class BaggingConfig(Strict):
    """``[bagging]``: the store's bagging-area check (off unless a bagging scale is fitted)."""

    enabled: bool = False
    noise_g: int = Field(default=10, ge=0, le=1000,
                         description="a change this small is the scale's noise, not an item")
    tolerance_g: int = Field(default=20, ge=1, le=5000,
                             description="an item's tolerance when the catalog gives none")
    tolerance_pct: int = Field(default=10, ge=0, le=100,
                               description="or this percent of its weight, if larger")
    wait_s: float = Field(default=8.0, gt=0, le=120, description="a scanned item must be"
                          " bagged within this")
    grace_s: float = Field(default=0.5, ge=0, le=10, description="an unexplained change must"
                           " last this long before it is an alert (a scan may be coming)")
    own_bag_max_g: int = Field(default=500, ge=0, le=5000)
    unknown_max_g: int = Field(default=20_000, ge=1)
    learn_samples: int = Field(default=3, ge=1, le=100, description="attended weighings"
                               " before an item's weight is learned")
    learn_from: str = Field(default="attended", pattern="^(attended|all)$",
                            description="attended: only sales where staff signed in")


@dataclass(frozen=True)
class Expectation:
    """What the bagging scale should see of one unit of an item."""

    weight_g: int | None = None     # None: not known yet (learned from attended sales)
    tolerance_g: int | None = None  # None: the store's default
    check: bool = True              # False: this item is not checked (heavy, light, bulky)


@dataclass
class Pending:
    """A basket change on its way to the bagging scale (``sign`` -1: an item taken off)."""

    line_id: int
    key: str
    expected_g: int | None
    tolerance_g: int
    since: float
    sign: int = 1


@dataclass
class BaggingMonitor:
    """The bagging area of one lane, as far as the scale and the basket tell (see module)."""

    cfg: BaggingConfig
    baseline_g: int | None = None       # the weight accounted for
    pending: list[Pending] = field(default_factory=list)
    alert: dict | None = None           # the open alert: kind, line_id, since
    weight_g: int | None = None         # the last settled weight
    samples: list[tuple[str, int]] = field(default_factory=list)  # (key, grams) of unknowns
    _unexplained_since: float | None = None
    _own_bag_until: float = 0.0

    # -- the basket ------------------------------------------------------------------

    def start(self) -> None:
        """A session starts: what lies there now is the starting point."""
        self.baseline_g = self.weight_g
        self.pending.clear()
        self.alert = None
        self.samples.clear()
        self._unexplained_since = None
        self._own_bag_until = 0.0

    def tolerance(self, exp: Expectation) -> int:
        if exp.tolerance_g is not None:
            return exp.tolerance_g
        pct = (exp.weight_g or 0) * self.cfg.tolerance_pct // 100
        return max(self.cfg.tolerance_g, pct, self.cfg.noise_g + 1)

    def expect(self, line_id: int, key: str, exp: Expectation, now: float) -> None:
        """One unit of an item was added to the basket."""
        if exp.check:
            self.pending.append(Pending(line_id, key, exp.weight_g, self.tolerance(exp), now))

    def taken_off(self, line_id: int, key: str, exp: Expectation, units: int,
                  now: float) -> None:
        """``units`` of a line left the basket (a quantity lowered, a line removed): units still
        on their way are no longer awaited; bagged ones may come off (never required)."""
        waiting = [i for i, p in enumerate(self.pending) if p.line_id == line_id and p.sign > 0]
        dropped = waiting[-units:] if units > 0 else []
        self.pending = [p for i, p in enumerate(self.pending) if i not in dropped]
        bagged = units - len(dropped)
        if exp.check and bagged > 0 and exp.weight_g is not None:
            self.pending.append(Pending(line_id, key, -exp.weight_g * bagged,
                                        self.tolerance(exp) * bagged, now, sign=-1))

    def own_bag(self, now: float) -> list[dict]:
        """The shopper said "I brought a bag": clears an unexpected-item alert a bag can
        explain, or lets the next increase up to ``own_bag_max_g`` in as the bag."""
        if (self.alert and self.alert["kind"] == "unexpected_item"
                and self._delta() is not None and 0 < self._delta() <= self.cfg.own_bag_max_g):
            return self._clear("own_bag", now)
        self._own_bag_until = now + self.cfg.wait_s
        return []

    def override(self) -> None:
        """Staff cleared the alert: the weight as it is now is right; nothing is awaited."""
        if self.weight_g is not None:
            self.baseline_g = self.weight_g
        if self.alert and self.alert["kind"] == "missing_item":
            self.pending = [p for p in self.pending if p.line_id != self.alert.get("line_id")]
        self.alert = None
        self._unexplained_since = None

    def cleared(self) -> None:
        """The state left the alert another way (a voided line, a voided basket)."""
        self.alert = None
        self._unexplained_since = None

    # -- the scale -------------------------------------------------------------------

    def reading(self, status: str, weight_g: int | None, now: float,
                shopping: bool) -> list[dict]:
        """A reading of the bagging scale; the events it leads to. Only a settled weight is
        weighed; ``shopping``: the lane may raise an alert now."""
        if status != "stable" or weight_g is None:
            # a load moving: its settled weight is unknown until it settles (the last one
            # must not be judged on while it moves, nor an unexplained change's grace run on)
            self.weight_g = None
            self._unexplained_since = None
            return []
        self.weight_g = weight_g
        if self.baseline_g is None:
            self.baseline_g = weight_g
            return []
        return self._judge(now, shopping)

    def tick(self, now: float, shopping: bool) -> list[dict]:
        """Timers: an item not bagged in time, an unexplained change past its grace."""
        if self.baseline_g is None or self.weight_g is None:
            return []
        return self._judge(now, shopping)

    def _delta(self) -> int | None:
        if self.baseline_g is None or self.weight_g is None:
            return None
        return self.weight_g - self.baseline_g

    def _judge(self, now: float, shopping: bool) -> list[dict]:
        delta = self._delta()
        assert delta is not None
        # an item taken off with its line need not come off: after wait_s nothing is awaited
        self.pending = [p for p in self.pending if p.sign > 0 or now - p.since < self.cfg.wait_s]
        noise = self.cfg.noise_g
        matched = self._match(delta) if abs(delta) > noise else None
        if matched is not None:  # the items on their way arrived (or went)
            count, grams = matched
            for p in self.pending[:count]:
                if p.expected_g is None:
                    self.samples.append((p.key, grams))
            del self.pending[:count]
            self.baseline_g = self.weight_g
            self._unexplained_since = None
            if self.alert:
                return self._clear("put_right", now)
            return []
        if abs(delta) <= noise:
            self._unexplained_since = None
            if self.alert and self.alert["kind"] in ("unexpected_item", "removed_item"):
                return self._clear("put_right", now)
        elif 0 < delta <= self.cfg.own_bag_max_g and now <= self._own_bag_until:
            self.baseline_g = self.weight_g  # the shopper's own bag, as they said
            self._own_bag_until = 0.0
            return []
        if self.alert or not shopping:
            return []
        if abs(delta) > noise:
            if self._unexplained_since is None:
                self._unexplained_since = now
            if now - self._unexplained_since >= self.cfg.grace_s:
                kind = "unexpected_item" if delta > 0 else "removed_item"
                return self._raise(kind, None, delta, None, now)
            return []
        late = next((p for p in self.pending if p.sign > 0 and now - p.since >= self.cfg.wait_s),
                    None)
        if late is not None:
            return self._raise("missing_item", late.line_id, delta, late.expected_g, now)
        return []

    def _match(self, delta: int) -> tuple[int, int] | None:
        """How many of the first pending changes ``delta`` accounts for (scanned one after
        another, bagged together), and the grams of the one unknown among them."""
        total, tol, unknown = 0, 0, 0
        for count, p in enumerate(self.pending, start=1):
            if p.expected_g is None:
                unknown += 1
                tol += self.cfg.noise_g
            else:
                total += p.expected_g
                tol += p.tolerance_g
            rest = delta - total
            if unknown == 0 and abs(rest) <= tol:
                return count, 0
            if unknown == 1 and self.cfg.noise_g < rest <= self.cfg.unknown_max_g:
                return count, rest
        return None

    def _raise(self, kind: str, line_id: int | None, delta: int, expected: int | None,
               now: float) -> list[dict]:
        self.alert = {"kind": kind, "line_id": line_id, "since": now}
        return [E.build("bagging_alert", kind=kind, line_id=line_id, delta_g=delta,
                        expected_g=expected)]

    def _clear(self, how: str, now: float) -> list[dict]:
        kind = self.alert["kind"] if self.alert else ""
        if how == "own_bag" and self.weight_g is not None:
            self.baseline_g = self.weight_g
        self.alert = None
        self._unexplained_since = None
        return [E.build("bagging_cleared", kind=kind, how=how, staff_id=None)]


def learned_weight(samples: list[int], cfg: BaggingConfig) -> Expectation | None:
    """An item's expected weight from its attended weighings: their median, once there are
    ``learn_samples`` of them and they agree within the store's tolerance; else None."""
    if len(samples) < cfg.learn_samples:
        return None
    recent = samples[-cfg.learn_samples:]
    median = int(statistics.median(recent))
    spread = max(recent) - min(recent)
    tolerance = max(cfg.tolerance_g, median * cfg.tolerance_pct // 100)
    if spread > tolerance:
        return None
    return Expectation(median, max(tolerance, spread * 2))
