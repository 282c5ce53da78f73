"""Card reader suite: the private pcscd / vpcd fixtures from tests/cardsupport.py."""

from tests.cardsupport import card_events, pcscd, sim_card, vcard  # noqa: F401
