"""What the daily summaries (``item_daily``, ``sale_daily``) have not summed yet: the SQL
that finds, per lane, the synced rows and broken_chain flags past the summaries' watermark
(``item_daily_watermark``) and the baskets they touch. :mod:`kiosk.backoffice.item_daily`
sums those baskets' days again; :func:`kiosk.backoffice.sale_daily.stale_days` reads the
same to know which days the summary does not hold as the events do.
"""

from __future__ import annotations

#: the baskets (lane, txn, first day, last day, rows) of one lane's rows and broken_chain
#: flags past its watermark (one lane at a time, its bounds given: an index range scan of
#: each day partition); what :mod:`kiosk.backoffice.item_daily` sums again
TOUCHED_SQL = """
SELECT lane_id, txn, min(day), max(day), count(*) FROM events
WHERE lane_id = %(lane)s AND seq > %(seq0)s AND seq <= %(seq1)s AND txn IS NOT NULL
GROUP BY 1, 2
UNION ALL
SELECT e.lane_id, e.txn, e.day, e.day, 0 FROM flags f
JOIN events e ON e.lane_id = f.lane_id AND e.seq = f.seq
WHERE f.lane_id = %(lane)s AND f.id > %(flag0)s AND f.id <= %(flag1)s
  AND f.kind = 'broken_chain' AND e.txn IS NOT NULL
"""

#: the lanes (of one store, or all with store NULL) whose synced rows or broken_chain flags
#: are past their watermark: how far each is held now (the ingest moves last_seq with its
#: rows, in one transaction) and how far it is summed (lane, summed seq, last seq, summed
#: flag id, last flag id)
BEHIND_SQL = """
SELECT c.lane_id, COALESCE(w.seq, 0), c.last_seq, COALESCE(w.flag_id, 0),
       COALESCE((SELECT max(f.id) FROM flags f WHERE f.lane_id = c.lane_id), 0)
FROM lane_chain c LEFT JOIN item_daily_watermark w USING (lane_id)
WHERE (c.last_seq > COALESCE(w.seq, 0) OR EXISTS (SELECT 1 FROM flags f
       WHERE f.lane_id = c.lane_id AND f.id > COALESCE(w.flag_id, 0)))
  AND (%(store)s::int IS NULL
       OR c.lane_id IN (SELECT id FROM lanes WHERE store_id = %(store)s))
"""
