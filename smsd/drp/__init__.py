"""The remote tunnel (DRP / NAT, issue 17): boxes behind NAT reached through a relay.

- `protocol.py`: what both ends share (the hello, header rules, secrets, back-off, limits).
- `relay.py` (+ `relay_client.py`, `relay_state.py`, `relay_cli.py`): `smsd drp-server`, the
  relay. API clients log in over HTTPS (`/doLogin`), choose a device (`/remoteWeb`) and their
  further requests travel to that device as HTTP/2 streams over the device's own connection.
- `device.py` (+ `device_stream.py`): the box's side, a thread that dials the relay, plays the
  HTTP/2 server there and hands every stream to the box's own HTTP listener.

See docs/remote.md.
"""
