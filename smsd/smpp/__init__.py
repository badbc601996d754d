"""The SMPP 3.4 server: a front end like the HTTP dialects, a thin translator over the service
(docs/smpp.md). pdus.py wraps smpplib's command classes (the PDU codec is theirs, not ours),
session.py is the bind's state machine, receipts.py the delivery receipt's text and states,
server.py the listener and one thread per connection.
"""
