"""The C backend's native entry points (pdu_codec_c/pdu_py.c): decode() and encode_submit()
build their results in C, so these tests hold them to the Python backend call shape by call
shape (keyword handling, the options they take themselves, the ones they hand back to Python),
and check what only C object building can get wrong: reference leaks and concurrent use.
Skipped when the extension is not built.
"""
from __future__ import annotations

import gc
import threading
import tracemalloc
from types import ModuleType
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdu_backends import C_BACKEND
from smsd.errors import CodecError
from smsd.pdu import _python

pytestmark = pytest.mark.skipif(C_BACKEND is None, reason="C codec extension not built")
C: ModuleType = C_BACKEND  # type: ignore[assignment]

NUMBER = "+447700900123"
DELIVER = "06917228195339040B917228214365F700003130805120618005D4F29C2E03"
REPORT = "0006D60B911326880736F4111011719551401110117195714000"
texts = st.text(max_size=400)  # no surrogates: the default alphabet (every hypothesis version)
ints = st.integers(-(2**33), 2**33)


def result(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args, **kwargs)
    except Exception as exc:                     # the exception class is what must agree
        return "error", type(exc)


@settings(max_examples=150, deadline=None)
@given(text=texts, encoding=st.sampled_from(["auto", "gsm7", "ucs2", "8bit"]),
       srr=st.one_of(st.booleans(), ints), flash=st.one_of(st.booleans(), ints),
       mr=ints, ref=ints,
       langs=st.one_of(st.lists(st.integers(-1, 15), max_size=4).map(tuple),
                       st.sampled_from([[1], frozenset({1}), (1.0,), (True,), "1", None])))
def test_native_options_match_python(text: str, encoding: str, srr: Any, flash: Any, mr: int,
                                     ref: int, langs: Any) -> None:
    """The options the native path takes itself (the scheduler's) give what Python gives,
    including out-of-range values, which it must hand back rather than accept."""
    kw = {"encoding": encoding, "request_status_report": srr, "flash": flash, "mr": mr,
          "concat_ref": ref, "languages": langs}
    assert result(C.encode_submit, NUMBER, text, **kw) == \
        result(_python.encode_submit, NUMBER, text, **kw)


@pytest.mark.parametrize("kw", [{"encoding": "utf8"}, {"encoding": None}, {"mr": "1"},
                                {"mr": 1.5}, {"concat_ref": 2.0}, {"bogus": 1}])
def test_bad_options_are_refused_as_python_refuses_them(kw: dict[str, Any]) -> None:
    assert result(C.encode_submit, NUMBER, "hi " * 100, **kw) == \
        result(_python.encode_submit, NUMBER, "hi " * 100, **kw)
    assert result(C.encode_submit, NUMBER, "hi " * 100, **kw)[0] == "error"


def test_other_options_and_call_shapes_are_handed_to_python() -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((NUMBER, "hi"), {"smsc": "+4479", "pid": 0x41}),
        ((NUMBER, "hi"), {"concat16": 1, "reject_duplicates": "yes"}),
        ((), {"number": NUMBER, "text": "hi"}), ((NUMBER, "\ud800"), {}), ((NUMBER,), {})]
    for args, kw in calls:
        assert result(C.encode_submit, *args, **kw) == \
            result(_python.encode_submit, *args, **kw), (args, kw)


def test_decode_keywords_like_a_python_function() -> None:
    assert C.decode(pdu=DELIVER, smsc=True) == C.decode(DELIVER) == _python.decode(DELIVER)
    assert C.decode(DELIVER[14:], smsc=False) == _python.decode(DELIVER[14:], False)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}), ((DELIVER,), {"smsc": True, "other": 1}), ((DELIVER, True), {"smsc": True}),
        ((DELIVER, True, 1), {})]
    for args, kw in calls:
        with pytest.raises(TypeError):
            C.decode(*args, **kw)


def test_decode_results_are_the_shared_types() -> None:
    d = C.decode(REPORT)
    assert type(d) is type(_python.decode(REPORT)) and d == _python.decode(REPORT)
    assert d._replace(text="x").text == "x" and d.discharge is not None


def _growth(fn: Callable[[], Any], rounds: int) -> int:
    fn()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(rounds):
            fn()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("call", [
    lambda: C.decode(DELIVER),
    lambda: C.decode(REPORT),
    lambda: C.decode(" " + DELIVER),                          # via fields.pdu_octets
    lambda: C.encode_submit(NUMBER, "Привет " * 40, request_status_report=True, concat_ref=7),
    lambda: result(C.decode, "0791"),                          # an error
    lambda: result(C.encode_submit, "+44abc!", "x"),
], ids=["deliver", "report", "octets", "multipart", "decode-error", "encode-error"])
def test_no_reference_leaks(call: Callable[[], Any]) -> None:
    """A result leaked per call would be hundreds of bytes x 5,000 calls."""
    assert _growth(call, 5000) < 20_000


def test_threads_and_long_texts_do_not_share_contexts() -> None:
    """Long texts let other threads run during the C encode; every thread still gets its own
    parts back, decoded to its own text."""
    texts_ = [f"{i}:" + "é€x" * (300 + 150 * i) for i in range(6)]
    want = {t: [p.hex for p in _python.encode_submit(NUMBER, t, concat_ref=i)]
            for i, t in enumerate(texts_)}
    bad: list[str] = []

    def work(i: int, text: str) -> None:
        for _ in range(40):
            parts = C.encode_submit(NUMBER, text, concat_ref=i)
            if [p.hex for p in parts] != want[text] or \
                    "".join(C.decode(p.hex).text for p in parts) != text:
                bad.append(text[:4])
                return

    threads = [threading.Thread(target=work, args=(i, t)) for i, t in enumerate(texts_)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_reloading_the_backend_configures_it_again() -> None:
    import importlib
    again = importlib.reload(C)
    assert again.decode(DELIVER) == _python.decode(DELIVER)
    assert again.encode_submit(NUMBER, "hi", mr=3) == _python.encode_submit(NUMBER, "hi", mr=3)


def test_errors_of_handed_over_calls_name_encode_submit() -> None:
    with pytest.raises(TypeError, match=r"^encode_submit\(\) got an unexpected keyword"):
        C.encode_submit(NUMBER, "hi", bogus=1)


def test_keyword_names_are_compared_whole() -> None:
    with pytest.raises(TypeError):
        C.decode(DELIVER, **{"smsc\0x": False})


def test_a_flag_objects_own_truth_is_asked_once() -> None:
    asked: list[int] = []

    class Flag:
        def __bool__(self) -> bool:
            asked.append(1)
            return True

    parts = C.encode_submit(NUMBER, "hi", request_status_report=Flag())
    assert len(asked) == 1 and parts == _python.encode_submit(NUMBER, "hi",
                                                              request_status_report=True)


def test_codec_errors_are_the_shared_classes() -> None:
    with pytest.raises(CodecError, match="hex"):
        C.decode("0G")
