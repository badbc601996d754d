"""Monitoring: `GET /metrics` in the Prometheus text format, `GET /health`, and the numbers
behind them (docs/monitoring.md).

Most of what /metrics shows is read from the live state when it is scraped (`collector.py`: the
ports as their workers last saw them, the queue, the push targets, the database's counts), so a
scrape costs nothing between scrapes and cannot drift from what the console shows. A few things
can only be counted as they happen, at the edges: the HTTP requests by dialect and status
(`http.py`, around the WSGI app) and each part's submit time and outcome per port (`sends.py`,
around the workers' sink). `endpoint.py` serves both paths and decides who may read /metrics.

The package sits on the front ends' floor: it reads the service and, for a few counts the
service has no call for, the store (`queries.py`, read-only).
"""
