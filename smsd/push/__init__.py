"""Outbound pushes (webhooks) from the durable events table; see worker.py."""
