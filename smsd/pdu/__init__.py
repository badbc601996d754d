"""SMS PDU codec: backend policy (see docs/INTERFACES.md, section smsd.pdu).

SMSD_PDU_BACKEND=auto (default) uses the C extension when `smsd._pdu_c` imports and the pure
Python codec otherwise; `c` insists on the extension (ImportError naming the cause when it is
missing); `python` never loads it. Both backends return the types of `smsd.pdu.types`.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

from smsd.pdu.types import (ENC_8BIT, ENC_GSM7, ENC_UCS2, KIND_DELIVER, KIND_STATUS_REPORT,
                            KIND_SUBMIT, Decoded, InfoElement, SubmitPart)

_CHOICES = ("auto", "c", "python")


def _load() -> tuple[str, ModuleType]:
    wanted = os.environ.get("SMSD_PDU_BACKEND", "auto").strip().lower() or "auto"
    if wanted not in _CHOICES:
        raise ImportError(f"SMSD_PDU_BACKEND={wanted!r}: expected one of {', '.join(_CHOICES)}")
    if wanted != "python":
        try:
            return "c", importlib.import_module("smsd.pdu._c")
        except ImportError as exc:
            if wanted == "c":
                raise ImportError(f"SMSD_PDU_BACKEND=c but the C codec is unavailable ({exc}); "
                                  "build the cffi extension smsd._pdu_c or use auto/python") \
                    from exc
    from smsd.pdu import _python
    return "python", _python


BACKEND, _impl = _load()

decode = _impl.decode
encode_submit = _impl.encode_submit
encode_deliver = _impl.encode_deliver
encode_status_report = _impl.encode_status_report
count_parts = _impl.count_parts
choose_encoding = _impl.choose_encoding
ussd_encode = _impl.ussd_encode
ussd_decode = _impl.ussd_decode
status_category = _impl.status_category


def backend_info() -> str:
    """Human-readable backend name for logs: "c (smsd._pdu_c)" or "python"."""
    return "c (smsd._pdu_c)" if BACKEND == "c" else "python"


__all__ = ["BACKEND", "backend_info", "decode", "encode_submit", "encode_deliver",
           "encode_status_report", "count_parts", "choose_encoding", "ussd_encode",
           "ussd_decode", "status_category", "Decoded", "InfoElement", "SubmitPart",
           "ENC_GSM7", "ENC_UCS2", "ENC_8BIT", "KIND_DELIVER", "KIND_SUBMIT",
           "KIND_STATUS_REPORT"]
