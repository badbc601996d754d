"""Runs the C codec over a corpus of PDUs and texts, for the AddressSanitizer build
(pdu_codec_c/asan_check.sh, `make fuzz-asan`): every PDU as it is, cut at every length and with
every octet set to a few edge values and to seeded random ones; every text through the encoders.

A memory error aborts the process (ASan's abort_on_error); a result other than a value or a
CodecError is reported and makes the exit status 1. Without ASan it is a quick smoke run.

Usage from the repository root: python tests/asan_corpus.py [corpus files...]
Corpus files: tests/vectors/pdu_vectors.json (its pdu_hex and texts) and tests/corpus/*.txt
(one hex PDU per line, `#` comments), the inputs fuzzing found worth keeping.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from smsd.errors import CodecError
from smsd.pdu import _c

TESTS = Path(__file__).resolve().parent
DEFAULT = [TESTS / "vectors" / "pdu_vectors.json", *sorted((TESTS / "corpus").glob("*.txt"))]
EDGES = (0x00, 0x01, 0x7F, 0x80, 0xFF)
SCTS = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def corpus(paths: list[Path]) -> tuple[list[bytes], list[str]]:
    """(PDUs, texts) of the corpus files."""
    pdus: list[bytes] = []
    texts: list[str] = []
    for path in paths:
        if path.suffix == ".json":
            for vector in json.loads(path.read_text()):
                pdus.append(bytes.fromhex(vector["pdu_hex"]))
                text = vector.get("expected", {}).get("text")
                if isinstance(text, str):
                    texts.append(text)
        else:
            for line in path.read_text().splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    pdus.append(bytes.fromhex(line))
    return pdus, texts


def mutations(pdu: bytes, rng: random.Random) -> Iterator[bytes]:
    yield pdu
    for cut in range(len(pdu)):
        yield pdu[:cut]
    for pos in range(len(pdu)):
        for value in EDGES:
            yield pdu[:pos] + bytes([value]) + pdu[pos + 1:]
    for _ in range(100):
        data = bytearray(pdu)
        for _ in range(rng.randint(1, 4)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        yield bytes(data) + bytes(rng.randrange(256) for _ in range(rng.randint(0, 8)))


def attempt(call: Callable[..., Any], *args: Any, **kw: Any) -> bool:
    """True when `call` returned or raised CodecError; anything else is printed."""
    try:
        call(*args, **kw)
    except CodecError:
        pass
    except Exception as exc:  # noqa: BLE001 - reported, the run goes on
        print(f"{call.__name__}{args!r}: {type(exc).__name__}: {exc}")
        return False
    return True


def run(paths: list[Path]) -> int:
    pdus, texts = corpus(paths)
    rng = random.Random(19)
    calls = bad = 0
    for pdu in pdus:
        for data in mutations(pdu, rng):
            for args in ((data, True), (data, False), (data.hex(), True)):
                calls += 1
                bad += not attempt(_c.decode, *args)
            calls += 1
            bad += not attempt(_c.ussd_decode, data)
    for text in texts + ["", "€" * 400, "\u0939" * 300, "a\u00a0b" * 200, "😀" * 100]:
        for encoding in ("auto", "gsm-7bit", "unicode"):
            calls += 3
            bad += not attempt(_c.encode_submit, "+447700900123", text, encoding=encoding)
            bad += not attempt(_c.encode_deliver, "+447700900123", text, scts=SCTS,
                               encoding=encoding)
            bad += not attempt(_c.count_parts, text, encoding)
        calls += 1
        bad += not attempt(_c.ussd_encode, text)
    import smsd._pdu_c as module          # which build ran: the instrumented copy under ASan
    print(f"asan corpus ({module.__file__}): {len(pdus)} PDUs, {len(texts)} texts, {calls} calls, {bad} bad")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(run([Path(p) for p in sys.argv[1:]] or DEFAULT))
