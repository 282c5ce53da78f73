"""The checkout domain: money, codes, pricing, the state machine, receipts.

Pure: imports no I/O and nothing else of the project.
"""
