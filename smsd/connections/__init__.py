"""Connections to service providers beyond the GSM ports (issue 18, docs/connections.md).

One module per type (smpp_client, http_client, http_server, smtp_out + smtp_in), each a
`Connection` (base.py); `manager.py` runs them: it builds them from their stored settings,
sends the messages routing gave them and hands what they receive up through the `Inbound`
callback the service gives it.
"""
