"""Modem workers: one thread per modem port (see docs/INTERFACES.md, smsd.modem).

Public API: `ModemWorker`, `Timing` (smsd.modem.worker), the jobs (smsd.modem.jobs) and the
`WorkerSink` protocol (smsd.modem.sink). Vendor profiles live in smsd.modem.quirks.
"""
