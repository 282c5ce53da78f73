"""The manager's dashboard, served by the back office (``kiosk backoffice serve``, same
Starlette app as the ingest API): server-rendered HTML pages in en, zh_Hans and ko, charts
drawn as SVG on the server (no script, works with no internet), CSV export of every table.

* :mod:`.passwords` hashes (scrypt, stdlib), :mod:`.accounts` users, roles, sessions and
  the sign-in rate limit (migration 004), :mod:`.reports` the figures (SQL over ``events``),
  :mod:`.charts` the SVG, :mod:`.pages` the HTML, :mod:`.routes` the web routes.
"""
