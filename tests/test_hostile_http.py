"""A hostile client against every dialect (issue 13 item 6): Hypothesis-made requests over real
HTTP on loopback, with random methods, paths, parameters (names, values, sizes), encodings (UTF-8,
Latin-1, raw bytes, broken percent escapes, form and JSON bodies, nested JSON) and Authorization
headers (good, wrong, garbage, huge or malformed Digest). For every request:

- no 5xx and no internal-error answer of the dialect (`error_code` 500, `Err: 612`,
  `ERR:INTERNAL_ERROR`, Ozeki status 99);
- the answer is in the dialect's own format;
- the daemon's log holds no traceback and no error;
- a refused request queued nothing (tasks, messages, USSD sent).

Run time is bounded for `make test`: EXAMPLES requests per dialect (a few seconds each). For a
soak, raise it: `SMSD_HOSTILE_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_hostile_http.py`.
"""
from __future__ import annotations

import base64
import json
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsd.api import gateway_php, intelli, isms, json_api, ozeki
from smsd.api.refusals import dialect_of

from front import PW, Front
from hostile import LogCapture, dialect_problem, queued, refused, send, serve_status

EXAMPLES = int(os.environ.get("SMSD_HOSTILE_EXAMPLES", "250"))   # ~2.5 s per dialect
# No deadline: a request's time is the server's, not Hypothesis's business (bench/ measures it).
HOSTILE = settings(max_examples=EXAMPLES, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
USERS = {"json": "json", "isms": "isms", "intelli": "intelli", "ozeki": "ozeki",
         "gateway": "gw", "rapport": "gw"}


@dataclass
class Request:
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    source: str = "127.0.0.1"      # a wrong login comes from elsewhere (the throttle is per host)
    chunked: bool = False          # the body sent with Transfer-Encoding: chunked


# --- values -------------------------------------------------------------------------------------
SPECIAL = ["", " ", "0", "1", "2", "3", "4", "6", "-1", "255", "256", "99999999999999999999999",
           "-99999999999999999999999", "9" * 5000, "1e400", "NaN", "1.5", "+447700900123",
           " 447700900123", "447700900123", "-447700900123", "00447700900123", "07700900123",
           "+", "%", "%ff", "%zz", "&", "#", "=", ";", ",", '"', "'", "\x00", "\r\n", "²", "١٢٣",
           "ÿ", "é", "€", "😀", "long", "yes", "true", "unicode", "gsm-7bit", "send", "cancel",
           "credits", "markasread", "delete", "nothing", "inbox", "outbox", "sent", "notsent",
           "SMS:TEXT", "SMS:BINARY", "SMS:FLASH", "SMS:TEXT:UCS2", "<data>zz</data>", "0041",
           "D83D;DE00", "55357;56832", "IN1", "IN99999999999999999999", "imei,imsi", "power",
           "off", "reset", "lock", "html", "xml", "http://x", "24/01/02", "99/99/99", "25:61:00",
           "2024-01-02 03:04:05", "unread", "all", "read", "a" * 161, "a" * 1600,
           "00480069", "D800", "0605040B8423F0", "32F401", "GSM", "modem0", "port0", "IN",
           *sorted(ozeki.HANDLERS)]
values = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=30),
                   st.integers(-(1 << 70), 1 << 70).map(str),
                   st.text(min_size=100, max_size=2000))
SIZES = st.one_of(st.just(0), st.just(0), st.just(0), st.just(0), st.integers(0, 5000),
                  st.sampled_from([70_000, 300_000]))


def params(known: frozenset[str]) -> st.SearchStrategy[dict[str, str]]:
    names = st.one_of(st.sampled_from(sorted(known)), st.sampled_from(sorted(known)).map(str.upper),
                      st.text(max_size=10))
    return st.dictionaries(names, values, max_size=8)


# --- encodings ----------------------------------------------------------------------------------
def quoted(text: str, charset: str) -> bytes:
    return urllib.parse.quote(text.encode(charset, "replace"), safe="").encode("ascii")


def raw_bytes(text: str) -> bytes:
    """As old clients send it: nothing encoded but what would break the request line."""
    data = text.encode("utf-8", "replace")
    for bad, good in ((b"%", b"%25"), (b" ", b"%20"), (b"\r", b"%0D"), (b"\n", b"%0A"),
                      (b"\x00", b"%00"), (b"#", b"%23"), (b"\t", b"%09")):
        data = data.replace(bad, good) if bad != b"%" or not text.startswith("%") else data
    return data


@st.composite
def form(draw: Any, fields: dict[str, str]) -> bytes:
    """The fields as `a=1&b=2`, each pair in one of the encodings clients use."""
    pairs = []
    for name, value in fields.items():
        how = draw(st.sampled_from(["utf-8", "latin-1", "raw", "broken"]))
        if how == "raw":
            pairs.append(raw_bytes(name) + b"=" + raw_bytes(value))
        elif how == "broken":
            pairs.append(quoted(name, "utf-8") + b"=" + draw(st.sampled_from(
                [b"%", b"%f", b"%ff%fe", b"%zz", b"%C3", b"%ED%A0%80", b"%00"])))
        else:
            pairs.append(quoted(name, how) + b"=" + quoted(value, how))
    return b"&".join(pairs)


@st.composite
def padded(draw: Any, fields: dict[str, str], known: frozenset[str]) -> dict[str, str]:
    """Now and then one parameter made huge (a 1 MB text, a 300 KB URL)."""
    size = draw(SIZES)
    if size:
        fields = dict(fields)
        fields[draw(st.sampled_from(sorted(known)))] = draw(st.sampled_from("a%é")) * size
    return fields


def credentials(name_key: str, pass_key: str, user: str) -> st.SearchStrategy[dict[str, str]]:
    """Good credentials, a stranger's wrong ones, or none at all."""
    stranger = st.text(min_size=1, max_size=20).filter(lambda n: n not in USERS.values())
    return st.one_of(st.just({name_key: user, pass_key: PW}),
                     st.just({name_key: user, pass_key: PW}),
                     st.builds(lambda n, p: {name_key: n, pass_key: p}, stranger, values),
                     st.just({}))


METHODS = st.one_of(st.sampled_from([b"GET", b"POST"]), st.sampled_from([b"GET", b"POST"]),
                    st.sampled_from([b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE",
                                     b"CONNECT", b"G\xc3\xa9T", b"FOO"]))
CONTENT_TYPES = st.sampled_from([b"application/x-www-form-urlencoded", b"text/plain",
                                 b"application/json", b"multipart/form-data; boundary=xyz",
                                 b"multipart/form-data", b"application/octet-stream", b"\xff"])
ODD_HEADERS = st.lists(st.one_of(
    st.tuples(st.just(b"Transfer-Encoding"), st.sampled_from([b"gzip", b"chunked, gzip",
                                                              b"identity"])),
    st.tuples(st.just(b"Expect"), st.just(b"100-continue")),
    st.tuples(st.just(b"Content-Type"), CONTENT_TYPES),
    st.tuples(st.sampled_from([b"X-Junk", b"Cookie", b"Host", b"Accept-Charset",
                               b"Authorization"]),
              st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")))),
    max_size=3)


@st.composite
def legacy_request(draw: Any, dialect: str, paths: list[str], known: frozenset[str],
                   name_key: str, pass_key: str) -> Request:
    """A request of a dialect whose parameters are query or form fields."""
    fields = {**draw(params(known)), **draw(credentials(name_key, pass_key, USERS[dialect]))}
    fields = draw(padded(fields, known))
    path = draw(st.one_of(st.sampled_from(paths), st.sampled_from(paths).map(str.upper)))
    method = draw(METHODS)
    encoded = draw(form(fields))
    in_body = method != b"GET" and draw(st.booleans())
    request = Request(method, path.encode() + (b"" if in_body else b"?" + encoded))
    if in_body:
        request.body, request.chunked = encoded, draw(st.booleans())
        request.headers.append((b"Content-Type", draw(CONTENT_TYPES)))
    request.headers += draw(ODD_HEADERS)
    good_login = fields.get(name_key) == USERS[dialect]
    request.source = "127.0.0.1" if good_login else draw(stranger_address)
    return request


stranger_address = st.builds(lambda a, b, c: f"127.{a}.{b}.{c}", st.integers(1, 254),
                             st.integers(0, 255), st.integers(1, 254))


# --- the JSON API -------------------------------------------------------------------------------
JSON_KEYS = ["text", "param", "port", "encoding", "request_status_report", "number", "user_id",
             "text_param", "time_after", "time_before", "flag", "incoming_sms_id", "command",
             "task_id", "info_type", "action", "performance"]
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 70),
                         st.floats(allow_nan=True, allow_infinity=True), values,
                         st.sampled_from(["\ud800", "a\udfffb"]))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(JSON_KEYS), st.text(max_size=8)), inner,
                    max_size=4)), max_leaves=12)
json_objects = st.dictionaries(st.sampled_from(JSON_KEYS), json_values, max_size=6)
JSON_BODIES = st.one_of(
    json_objects.map(lambda o: json.dumps(o).encode()),
    json_objects.map(lambda o: json.dumps(o, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.integers(1, 120_000).map(lambda n: b"[" * n + b"]" * n),
    st.binary(max_size=200), st.just(b'[{"performance"}]'), st.just(b""))


def basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8", "replace"))


@st.composite
def digest_garbage(draw: Any) -> bytes:
    items = draw(st.lists(st.tuples(
        st.sampled_from(["username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce",
                         "algorithm", "opaque", "x"]),
        st.one_of(values, st.just("smsd"), st.just("1700000000.000:abc"),
                  st.integers(1, 100_000).map(lambda n: "n" * n)),
        st.booleans()), max_size=10))
    parts = [f'{k}="{v}"' if quote else f"{k}={v}" for k, v, quote in items]
    tail = draw(st.sampled_from(["", ",", ", x", '"', "=", ", ,"]))
    return ("Digest " + ", ".join(parts) + tail).encode("utf-8", "replace").replace(
        b"\r", b"").replace(b"\n", b"")


stranger = st.text(min_size=1, max_size=20).filter(lambda n: n not in USERS.values())
AUTH = st.one_of(
    st.just(basic("json", PW)), st.just(basic("json", PW)),
    st.builds(basic, stranger, st.text(max_size=20)),
    digest_garbage(),
    st.binary(max_size=500).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from([b"Basic", b"Basic !!!", b"Digest", b"Bearer x", b"Basic " + b"QQ==" * 5000]),
    st.none())


@st.composite
def json_request(draw: Any) -> Request:
    name = draw(st.one_of(st.sampled_from(sorted(json_api.HANDLERS)), st.text(max_size=12)))
    method = draw(METHODS)
    query = draw(form(draw(padded(draw(params(frozenset(JSON_KEYS))), frozenset(JSON_KEYS)))))
    target = b"/api/" + quoted(name, "utf-8") + (b"?" + query if draw(st.booleans()) else b"")
    request = Request(method, target)
    if method != b"GET" or draw(st.booleans()):
        request.body, request.chunked = draw(JSON_BODIES), draw(st.booleans())
        request.headers.append((b"Content-Type", draw(CONTENT_TYPES)))
    auth = draw(AUTH)
    if auth is not None:
        request.headers.append((b"Authorization", auth))
    request.headers += draw(ODD_HEADERS)
    if auth != basic("json", PW):
        request.source = draw(stranger_address)
    return request


# --- the suite ----------------------------------------------------------------------------------
STRATEGIES: dict[str, st.SearchStrategy[Request]] = {
    "json": json_request(),
    "isms": legacy_request("isms", sorted(isms.HANDLERS), isms.KNOWN, "user", "passwd"),
    "intelli": legacy_request("intelli", [f"/smsgateway/{n}" for n in intelli.HANDLERS]
                              + ["/smsgateway/x.aspx", "/smsgateway/"], intelli.KNOWN,
                              "username", "password"),
    "ozeki": legacy_request("ozeki", ["/api", "/httpapi"], ozeki.KNOWN | {"action"},
                            "username", "password"),
    "gateway": legacy_request("gateway", ["/module/gateway.php", "/module/gatewayrapport.php"],
                              gateway_php.KNOWN | {"smsid"}, "clientuser", "clientpwd"),
}


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    f = serve_status(Front(str(tmp_path_factory.mktemp("hostile") / "smsd.db"))).start()
    yield f
    f.close()


@pytest.fixture(scope="module")
def log() -> Iterator[LogCapture]:
    capture = LogCapture().install()
    yield capture
    capture.remove()


def check(front: Front, log: LogCapture, request: Request) -> None:
    """One hostile request and everything that must hold of its answer."""
    before, seen = queued(front), len(log.records)
    answer = send(front, request.method, request.target, request.headers, request.body,
                  source=request.source, chunked=request.chunked)
    path = urllib.parse.unquote(request.target.split(b"?")[0].decode("latin-1"))
    dialect = dialect_of(path) or "none"
    assert answer.status < 500, (request, answer)
    assert not log.troubles(seen), (request, log.troubles(seen))
    if request.method == b"HEAD" or dialect == "none":
        return
    problem = dialect_problem(dialect, answer)
    assert problem is None, (problem, request, answer)
    if refused(dialect, answer):
        assert queued(front) == before, ("a refused request queued", request, answer)


@pytest.mark.parametrize("dialect", sorted(STRATEGIES))
def test_hostile_requests_get_the_dialects_answer(front: Front, log: LogCapture,
                                                  dialect: str) -> None:
    @HOSTILE
    @given(request=STRATEGIES[dialect])
    def run(request: Request) -> None:
        check(front, log, request)
    run()

