"""The checkout domain: money, codes, catalog items, the store's rules, pricing, the state
machine, its vocabulary (states, the commands each accepts, reason codes) and receipts.

Pure: imports no I/O and nothing else of the project (tests/unit/test_vocabulary.py
checks it); kiosk.config composes the domain's config models (kiosk.domain.rules).
"""
