/* Python entry points for the two hot calls, decode() and encode_submit(), in the same cffi
 * module as the codec (compiled after pdu.c; build_pdu.py turns cffi's limited API off so
 * that the datetime C API is available).
 *
 * WHY this exists.  For one SMS the codec's C work is 0.3-0.4 us.  Through cffi the call
 * costs another 0.2 us of argument conversion, and building the result in Python (reading
 * the result struct, decoding three strings, an aware datetime, a 19-field named tuple) about
 * 1 us more (bench/pdu_codec.py --breakdown).  Here the same conversions are done in C, into
 * the very named tuples of smsd/pdu/types.py, so the C and Python backends stay
 * interchangeable and the differential tests still compare them field by field.  cffi has no
 * way to hand a Python object back from C, so pdu_py_install(), called once through cffi by
 * smsd/pdu/_c.py, adds these functions to the module as ordinary Python callables.
 *
 * Theory of operation.  Everything here runs with the GIL held.  The decode and encode
 * contexts are large (7 KB, 107 KB), and creating Python objects can run Python code (a GC
 * pass may call finalizers and switch threads), so a call takes its context from a small pool
 * and gives it back at the end; no two calls ever share one.  Anything unusual (keyword
 * options of encode_submit, bad argument types, text that is not valid Unicode) goes to the
 * Python implementation registered by configure(), which owns the error messages.
 * The state (configure's objects, the pools) is per process and relies on the GIL: one
 * interpreter, not a free-threaded build (Debian 12's CPython 3.11 is both).
 */
#include <datetime.h>

#define PY_POOL_MAX 4
#define PY_NFIELDS 19              /* fields of smsd.pdu.types.Decoded */
#define PY_TZ_SPAN 79              /* time zones are -79..+79 quarter hours */
#define PY_RELEASE_GIL_AT 2048     /* text bytes from which encoding lets other threads run */

struct py_pool {
    void *free[PY_POOL_MAX];
    int n;
    size_t size;
};

static struct py_pool py_dpool = {{0}, 0, sizeof(pdu_dctx)};
static struct py_pool py_epool = {{0}, 0, sizeof(pdu_ectx)};

/* What configure() hands over from Python; all strong references, kept for the process. */
static struct {
    PyObject *codec_error, *encoding_error;
    PyTypeObject *decoded, *submit_part, *info_element;
    PyObject *tz;                  /* tuple: tz[q + 79] = timezone of q quarter hours */
    PyObject *kinds;               /* tuple indexed by PDU_KIND_* */
    PyObject *encodings;           /* tuple indexed by PDU_ENC_* */
    PyObject *pdu_octets;          /* fields.pdu_octets: any accepted PDU form -> bytes */
    PyObject *validity;            /* (vpf, raw octets) -> validity object */
    PyObject *encode_fallback;     /* the Python encode_submit, for every non-default call */
    int ready;
} py;

static void *py_take(struct py_pool *p)
{
    return p->n ? p->free[--p->n] : PyMem_RawMalloc(p->size);
}

static void py_give(struct py_pool *p, void *c)
{
    if (p->n < PY_POOL_MAX)
        p->free[p->n++] = c;
    else
        PyMem_RawFree(c);
}

static PyObject *py_codec_error(int rc)
{
    PyObject *cls = rc == PDU_E_CHARSET || rc == PDU_E_ADDR ? py.encoding_error
                                                             : py.codec_error;
    PyErr_SetString(cls, pdu_strerror(rc));
    return NULL;
}

/* Pure ASCII bytes (hex text) -> str, without running a decoder. */
static PyObject *py_ascii(const char *s, Py_ssize_t n)
{
    PyObject *u = PyUnicode_New(n, 127);
    if (u)
        memcpy(PyUnicode_1BYTE_DATA(u), s, (size_t)n);
    return u;
}

/* A named tuple of `type` from n new references (stolen; any NULL fails the whole). */
static PyObject *py_named(PyTypeObject *type, PyObject **v, Py_ssize_t n)
{
    PyObject *t = NULL;
    Py_ssize_t i;
    for (i = 0; i < n && v[i]; i++)
        ;
#if PY_VERSION_HEX < 0x030E0000
    if (i == n)
        t = type->tp_alloc(type, n);      /* what tuple.__new__(type, ...) does for a subclass */
    for (i = 0; i < n; i++) {
        if (t)
            PyTuple_SET_ITEM(t, i, v[i]);
        else
            Py_XDECREF(v[i]);
    }
    return t;
#else                     /* 3.14 tuples cache their hash: let tuple.__new__ set that up */
    PyObject *plain = i == n ? PyTuple_New(n) : NULL, *args;
    for (i = 0; i < n; i++) {
        if (plain)
            PyTuple_SET_ITEM(plain, i, v[i]);
        else
            Py_XDECREF(v[i]);
    }
    args = plain ? PyTuple_Pack(1, plain) : NULL;
    t = args ? PyTuple_Type.tp_new(type, args, NULL) : NULL;
    Py_XDECREF(args);
    Py_XDECREF(plain);
    return t;
#endif
}

static PyObject *py_none(void)
{
    Py_RETURN_NONE;
}

static PyObject *py_int_or_none(int32_t v)
{
    return v >= 0 ? PyLong_FromLong(v) : py_none();
}

/* TP-SCTS / TP-DT digits (valid, yy, mo, dd, hh, mi, ss, tz quarters) -> aware datetime;
 * an impossible date gives None, as in the Python backend. */
static PyObject *py_stamp(const int32_t *t)
{
    if (!t[0])
        return py_none();
    if (t[7] < -PY_TZ_SPAN || t[7] > PY_TZ_SPAN) {
        PyErr_SetString(py.codec_error, "time zone out of range");
        return NULL;
    }
    PyObject *tz = PyTuple_GET_ITEM(py.tz, t[7] + PY_TZ_SPAN);
    int year = t[1] + (t[1] >= 80 ? 1900 : 2000);
    PyObject *r = PyDateTimeAPI->DateTime_FromDateAndTime(year, t[2], t[3], t[4], t[5], t[6], 0,
                                                         tz, PyDateTimeAPI->DateTimeType);
    if (!r && PyErr_ExceptionMatches(PyExc_ValueError)) {
        PyErr_Clear();
        return py_none();
    }
    return r;
}

static PyObject *py_utf8(const char *s, int32_t n)
{
    return PyUnicode_DecodeUTF8(s, n, NULL);
}

/* Fills slot k of a new list; a NULL item (an error is set) drops the whole list. */
static void py_list_put(PyObject **list, Py_ssize_t k, PyObject *item)
{
    if (item)
        PyList_SET_ITEM(*list, k, item);
    else
        Py_CLEAR(*list);
}

/* The code point at unit *k of UTF-16BE units: a surrogate pair is one (and *k moves past
 * its low half), a lone surrogate is U+FFFD: the rules of decode_ucs2 in pdu_decode.c. */
static Py_UCS4 py_ucs2_at(const uint8_t *p, size_t n, size_t *k)
{
    Py_UCS4 u = (Py_UCS4)p[2 * *k] << 8 | p[2 * *k + 1];
    if (u < 0xD800 || u > 0xDFFF)
        return u;
    if (u <= 0xDBFF && *k + 1 < n) {
        Py_UCS4 lo = (Py_UCS4)p[2 * *k + 2] << 8 | p[2 * *k + 3];
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            ++*k;
            return 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        }
    }
    return 0xFFFD;
}

/* UCS2 user data -> str straight from the code units (pdu_decode was asked not to make
 * UTF-8 of them).  Without surrogates (nearly always) one pass finds the width and one copies
 * with plain stores; with them, a pass for the length, one to write. */
static PyObject *py_ucs2_text(const uint8_t *p, size_t nbytes)
{
    size_t n = nbytes / 2, count = 0, k;
    Py_UCS4 any = 0, sur = 0;        /* OR of all: an upper bound with the right width */
    for (k = 0; k < n; k++) {
        Py_UCS4 u = (Py_UCS4)p[2 * k] << 8 | p[2 * k + 1];
        any |= u;
        sur |= u - 0xD800 < 0x800;
    }
    if (!sur) {
        PyObject *s = PyUnicode_New((Py_ssize_t)n, any > 0xFF ? 0xFFFF : any > 0x7F ? 0xFF : 0x7F);
        if (!s)
            return NULL;
        if (PyUnicode_KIND(s) == PyUnicode_2BYTE_KIND) {
            Py_UCS2 *o = PyUnicode_2BYTE_DATA(s);
            for (k = 0; k < n; k++)
                o[k] = (Py_UCS2)(p[2 * k] << 8 | p[2 * k + 1]);
        } else {
            Py_UCS1 *o = PyUnicode_1BYTE_DATA(s);
            for (k = 0; k < n; k++)
                o[k] = p[2 * k + 1];
        }
        return s;
    }
    for (any = 0, k = 0; k < n; k++, count++)
        any |= py_ucs2_at(p, n, &k);
    PyObject *s = PyUnicode_New((Py_ssize_t)count, any > 0xFFFF ? 0x10FFFF : any > 0xFF ? 0xFFFF
                                                   : any > 0x7F ? 0xFF : 0x7F);
    if (!s)
        return NULL;
    int kind = PyUnicode_KIND(s);
    void *data = PyUnicode_DATA(s);
    for (k = 0, count = 0; k < n; k++)
        PyUnicode_WRITE(kind, data, (Py_ssize_t)count++, py_ucs2_at(p, n, &k));
    return s;
}

static PyObject *py_text(const pdu_decoded *d, const uint8_t *pdu, const char *utf8)
{
    if (d->encoding == PDU_ENC_UCS2)
        return py_ucs2_text(pdu + d->data_off, (size_t)d->data_len);
    return py_utf8(utf8, d->text_len);
}

static PyObject *py_ies(const pdu_decoded *d, const uint8_t *pdu)
{
    PyObject *list = PyList_New(d->n_ie);
    for (int32_t k = 0; list && k < d->n_ie; k++) {
        const int32_t *ie = d->ie + 3 * k;
        PyObject *v[2] = {PyLong_FromLong(ie[0]),
                          PyBytes_FromStringAndSize((const char *)pdu + ie[1], ie[2])};
        py_list_put(&list, k, py_named(py.info_element, v, 2));
    }
    return list;
}

static PyObject *py_pair_or_none(int32_t a, int32_t b)
{
    return a >= 0 ? Py_BuildValue("(ii)", a, b) : py_none();
}

/* Every field of a decoded PDU (pdu points at its octets: the offsets in d are into it).
 * The validity comes last because it calls Python; c is not read after that. */
static PyObject *py_build_decoded(const pdu_dctx *c, const uint8_t *pdu)
{
    const pdu_decoded *d = &c->d;
    const char *s = c->str;
    int32_t ns = d->smsc_len > 0 ? d->smsc_len : 0;
    PyObject *v[PY_NFIELDS] = {0}, *vp = NULL;
/* in order, stopping at the first failure: nothing runs with an exception already set */
#define PY_FIELD(i, expr) do { if (!(v[i] = (expr))) goto done; } while (0)
    PY_FIELD(0, Py_NewRef(PyTuple_GET_ITEM(py.kinds, d->kind)));
    PY_FIELD(1, d->smsc_len >= 0 ? py_utf8(s, d->smsc_len) : py_none());
    PY_FIELD(2, py_utf8(s + ns, d->number_len));
    PY_FIELD(3, py_text(d, pdu, s + ns + d->number_len));
    PY_FIELD(4, PyLong_FromLong(d->dcs));
    PY_FIELD(5, PyLong_FromLong(d->pid));
    PY_FIELD(6, d->kind != PDU_KIND_SUBMIT ? py_stamp(d->scts) : py_none());
    PY_FIELD(7, d->concat_ref >= 0 ? Py_BuildValue("(iii)", d->concat_ref, d->concat_total,
                                                   d->concat_seq) : py_none());
    PY_FIELD(8, py_int_or_none(d->mr));
    PY_FIELD(9, py_int_or_none(d->status));
    PY_FIELD(10, py_ies(d, pdu));
    PY_FIELD(11, Py_NewRef(PyTuple_GET_ITEM(py.encodings, d->encoding)));
    PY_FIELD(12, PyBytes_FromStringAndSize((const char *)pdu + d->data_off, d->data_len));
    PY_FIELD(13, PyLong_FromLong(d->number_toa));
    PY_FIELD(14, d->kind == PDU_KIND_STATUS_REPORT ? py_stamp(d->discharge) : py_none());
    PY_FIELD(15, py_int_or_none(d->message_class));
    PY_FIELD(17, PyBool_FromLong(d->srr != 0));
    PY_FIELD(18, py_pair_or_none(d->port_dst, d->port_src));
    if (!d->vpf) {
        PY_FIELD(16, py_none());
    } else {               /* last: it calls Python, and c is not read after this */
        vp = PyBytes_FromStringAndSize((const char *)pdu + d->vp_off, d->vp_len);
        if (vp)
            v[16] = PyObject_CallFunction(py.validity, "iO", d->vpf, vp);
    }
#undef PY_FIELD
done:
    Py_XDECREF(vp);
    return py_named(py.decoded, v, PY_NFIELDS);
}

/* decode(pdu, smsc=True): hex text straight from the str's own buffer; anything the fast
 * hex path refuses (whitespace, bytes, junk, over-long) goes through fields.pdu_octets. */
static PyObject *py_decode_into(pdu_dctx *c, PyObject *pdu, int smsc)
{
    PyObject *octets = NULL, *res;
    const uint8_t *base = c->bin;
    int rc = PDU_E_HEX, flags = PDU_DEC_RAW_UCS2 | (smsc ? PDU_DEC_SMSC : 0);
    if (PyUnicode_Check(pdu) && PyUnicode_IS_ASCII(pdu))    /* hex text: its own buffer */
        rc = pdu_decode((const char *)PyUnicode_1BYTE_DATA(pdu),
                        (size_t)PyUnicode_GET_LENGTH(pdu), flags | PDU_DEC_HEX, c);
    if (rc == PDU_E_HEX || rc == PDU_E_SPACE) {
        PyObject *got = PyObject_CallOneArg(py.pdu_octets, pdu);
        octets = got ? PyBytes_FromObject(got) : NULL;
        Py_XDECREF(got);
        if (!octets)
            return NULL;
        base = (const uint8_t *)PyBytes_AS_STRING(octets);
        rc = pdu_decode((const char *)base, (size_t)PyBytes_GET_SIZE(octets), flags, c);
    }
    res = rc ? py_codec_error(rc) : py_build_decoded(c, base);
    Py_XDECREF(octets);
    return res;
}

static int py_decode_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                          PyObject **pdu, int *smsc)
{
    PyObject *flag = nargs > 1 ? args[1] : Py_True;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    *pdu = nargs > 0 ? args[0] : NULL;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k);
        if (PyUnicode_CompareWithASCIIString(name, "smsc") == 0 && nargs < 2)
            flag = args[nargs + k];
        else if (PyUnicode_CompareWithASCIIString(name, "pdu") == 0 && nargs < 1)
            *pdu = args[nargs + k];
        else
            return PyErr_Format(PyExc_TypeError, "decode() got an unexpected or repeated "
                                "argument %R", PyTuple_GET_ITEM(kwnames, k)), -1;
    }
    if (!*pdu || nargs > 2)
        return PyErr_SetString(PyExc_TypeError, "decode() takes pdu and an optional smsc"),
               -1;
    *smsc = PyObject_IsTrue(flag);
    return *smsc < 0 ? -1 : 0;
}

static PyObject *py_decode(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    PyObject *pdu, *res;
    int smsc;
    if (!py.ready)
        return PyErr_Format(PyExc_RuntimeError, "codec not configured");
    if (py_decode_args(args, nargs, kwnames, &pdu, &smsc) < 0)
        return NULL;
    pdu_dctx *c = py_take(&py_dpool);
    if (!c)
        return PyErr_NoMemory();
    res = py_decode_into(c, pdu, smsc);
    py_give(&py_dpool, c);
    return res;
}

/* The n parts pdu_encode_sms left in c, as SubmitPart tuples. */
static PyObject *py_submit_parts(const pdu_ectx *c, int n, PyObject *text)
{
    PyObject *list = PyList_New(n);
    for (int k = 0; list && k < n; k++) {
        const pdu_part *p = &c->parts[k];
        PyObject *v[5] = {py_ascii(c->out + p->hex_off, p->hex_len),
                          PyLong_FromLong(p->tpdu_len), PyLong_FromLong(k + 1),
                          PyLong_FromLong(n),
                          n == 1 ? Py_NewRef(text)
                                 : PyUnicode_Substring(text, p->text_start, p->text_end)};
        py_list_put(&list, k, py_named(py.submit_part, v, 5));
    }
    return list;
}

static PyObject *py_fallback(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return PyObject_Vectorcall(py.encode_fallback, args, (size_t)nargs, kwnames);
}

/* A field option as Python computes it, `value & mask`, for exact ints and bools; -1 sends
 * anything else to Python, which words the error. */
static int py_int_opt(PyObject *v, long mask, int32_t *out)
{
    if (!PyLong_CheckExact(v) && !PyBool_Check(v))
        return -1;
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (x == -1 && PyErr_Occurred()))
        return PyErr_Clear(), -1;
    *out = (int32_t)(x & mask);
    return 0;
}

/* A flag option given as a bool or an int: its truth value, as in Python.  Anything else
 * goes to Python untouched (its __bool__ is user code, run once, there). */
static int py_flag_opt(PyObject *v, int32_t *out)
{
    if (!PyBool_Check(v) && !PyLong_CheckExact(v))
        return -1;
    *out = PyObject_IsTrue(v);        /* cannot fail for these two types */
    return 0;
}

static int py_encoding_opt(PyObject *v, int32_t *out)
{
    static const char *const names[] = {"auto", "gsm7", "ucs2", "8bit"};
    static const int32_t codes[] = {PDU_ENC_AUTO, PDU_ENC_GSM7, PDU_ENC_UCS2, PDU_ENC_8BIT};
    for (size_t i = 0; PyUnicode_CheckExact(v) && i < 4; i++)
        if (PyUnicode_CompareWithASCIIString(v, names[i]) == 0)
            return *out = codes[i], 0;
    return -1;
}

/* National language ids given as a tuple of ints 1..PDU_NLANG-1: their bit mask.  Any other
 * shape or value goes to Python, which words the error. */
static int py_languages_opt(PyObject *v, int32_t *out)
{
    if (!PyTuple_CheckExact(v))
        return -1;
    int32_t mask = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(v); i++) {
        PyObject *item = PyTuple_GET_ITEM(v, i);
        if (!PyLong_CheckExact(item))
            return -1;
        long id = PyLong_AsLong(item);
        if (id < 1 || id >= PDU_NLANG)
            return PyErr_Clear(), -1;
        mask |= (int32_t)1 << id;
    }
    *out = mask;
    return 0;
}

/* The keyword options the native path takes itself, the ones the scheduler passes for every
 * message; -1 when any keyword (or value) is for the Python implementation. */
static int py_submit_opts(PyObject *const *kwv, PyObject *kwnames, pdu_sms_opts *o)
{
    Py_ssize_t n = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k), *v = kwv[k];
        int rc = -1;
        if (PyUnicode_CompareWithASCIIString(name, "encoding") == 0)
            rc = py_encoding_opt(v, &o->encoding);
        else if (PyUnicode_CompareWithASCIIString(name, "request_status_report") == 0)
            rc = py_flag_opt(v, &o->srr);
        else if (PyUnicode_CompareWithASCIIString(name, "flash") == 0)
            rc = py_flag_opt(v, &o->flash);
        else if (PyUnicode_CompareWithASCIIString(name, "mr") == 0)
            rc = py_int_opt(v, 0xFF, &o->mr);
        else if (PyUnicode_CompareWithASCIIString(name, "concat_ref") == 0)
            rc = py_int_opt(v, 0xFF, &o->concat_ref);
        else if (PyUnicode_CompareWithASCIIString(name, "languages") == 0)
            rc = py_languages_opt(v, &o->languages);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* encode_submit(number, text, *, encoding, request_status_report, flash, mr, concat_ref,
 * languages) in C; any other option, a wrong type or a lone surrogate goes to the Python
 * implementation (it handles the rest of the options and words the errors). */
static PyObject *py_encode_submit(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames)
{
    pdu_sms_opts o = {PDU_KIND_SUBMIT, PDU_ENC_AUTO};
    Py_ssize_t nn, tn;
    const char *num, *txt;
    if (!py.ready)
        return PyErr_Format(PyExc_RuntimeError, "codec not configured");
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1])
            || py_submit_opts(args + nargs, kwnames, &o) < 0)
        return py_fallback(args, nargs, kwnames);
    num = PyUnicode_AsUTF8AndSize(args[0], &nn);
    txt = num ? PyUnicode_AsUTF8AndSize(args[1], &tn) : NULL;
    if (!txt) {                                 /* a lone surrogate: let Python name it */
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return NULL;
        PyErr_Clear();
        return py_fallback(args, nargs, kwnames);
    }
    pdu_ectx *c = py_take(&py_epool);
    if (!c)
        return PyErr_NoMemory();
    int rc;
    if (tn < PY_RELEASE_GIL_AT) {
        rc = pdu_encode_sms(&o, num, (size_t)nn, "", 0, txt, (size_t)tn, c);
    } else {                  /* the str objects are ours for the call; c is this call's own */
        Py_BEGIN_ALLOW_THREADS
        rc = pdu_encode_sms(&o, num, (size_t)nn, "", 0, txt, (size_t)tn, c);
        Py_END_ALLOW_THREADS
    }
    PyObject *res = rc < 0 ? py_codec_error(rc) : py_submit_parts(c, rc, args[1]);
    py_give(&py_epool, c);
    return res;
}

static int py_is_type(PyObject *o)
{
    return PyType_Check(o) && PyType_IsSubtype((PyTypeObject *)o, &PyTuple_Type);
}

/* The named tuple type has the number of fields this file fills (types.py may grow). */
static int py_fields(PyObject *type, Py_ssize_t n)
{
    PyObject *f = PyObject_GetAttrString(type, "_fields");
    Py_ssize_t got = f && PyTuple_Check(f) ? PyTuple_GET_SIZE(f) : -1;
    Py_XDECREF(f);
    if (got == n)
        return 0;
    if (!PyErr_Occurred())
        PyErr_Format(PyExc_ValueError, "configure: %R has %zd fields, pdu_py.c fills %zd",
                     type, got, n);
    return -1;
}

/* configure(CodecError, EncodingError, Decoded, SubmitPart, InfoElement, tz, kinds,
 *           encodings, pdu_octets, validity, encode_fallback) */
static PyObject *py_configure(PyObject *self, PyObject *args)
{
    PyObject *ce, *ee, *dec, *sp, *ie, *tz, *kinds, *encs, *oct, *val, *fb;
    if (!PyArg_ParseTuple(args, "OOOOOO!O!O!OOO:configure", &ce, &ee, &dec, &sp, &ie,
                          &PyTuple_Type, &tz, &PyTuple_Type, &kinds, &PyTuple_Type, &encs,
                          &oct, &val, &fb))
        return NULL;
    if (!py_is_type(dec) || !py_is_type(sp) || !py_is_type(ie)
            || PyTuple_GET_SIZE(tz) != 2 * PY_TZ_SPAN + 1 || PyTuple_GET_SIZE(kinds) != 3
            || PyTuple_GET_SIZE(encs) != 4)
        return PyErr_Format(PyExc_ValueError, "configure: unexpected argument shapes");
    if (py_fields(dec, PY_NFIELDS) < 0 || py_fields(sp, 5) < 0 || py_fields(ie, 2) < 0)
        return NULL;
    PyDateTime_IMPORT;
    if (!PyDateTimeAPI)
        return NULL;
    /* a reload of smsd.pdu._c configures again: the new objects replace the old */
    Py_XSETREF(py.codec_error, Py_NewRef(ce));
    Py_XSETREF(py.encoding_error, Py_NewRef(ee));
    Py_XSETREF(py.decoded, (PyTypeObject *)Py_NewRef(dec));
    Py_XSETREF(py.submit_part, (PyTypeObject *)Py_NewRef(sp));
    Py_XSETREF(py.info_element, (PyTypeObject *)Py_NewRef(ie));
    Py_XSETREF(py.tz, Py_NewRef(tz));
    Py_XSETREF(py.kinds, Py_NewRef(kinds));
    Py_XSETREF(py.encodings, Py_NewRef(encs));
    Py_XSETREF(py.pdu_octets, Py_NewRef(oct));
    Py_XSETREF(py.validity, Py_NewRef(val));
    Py_XSETREF(py.encode_fallback, Py_NewRef(fb));
    py.ready = 1;
    Py_RETURN_NONE;
}

static PyMethodDef pdu_py_methods[] = {
    {"native_decode", (PyCFunction)(void (*)(void))py_decode, METH_FASTCALL | METH_KEYWORDS,
     "decode(pdu, smsc=True) -> smsd.pdu.types.Decoded"},
    {"native_encode_submit", (PyCFunction)(void (*)(void))py_encode_submit,
     METH_FASTCALL | METH_KEYWORDS, "encode_submit(number, text, **options) -> [SubmitPart]"},
    {"native_configure", py_configure, METH_VARARGS, "hand over the Python types and helpers"},
    {NULL, NULL, 0, NULL}
};

/* Called through cffi, which releases the GIL around calls: take it back first. */
int pdu_py_install(void)
{
    PyGILState_STATE g = PyGILState_Ensure();
    int rc = -1;
    PyObject *mod = PyImport_ImportModule(PDU_PY_MODULE);
    if (mod) {
        rc = PyModule_AddFunctions(mod, pdu_py_methods);
        Py_DECREF(mod);
    }
    if (rc < 0)
        PyErr_Clear();
    PyGILState_Release(g);
    return rc;
}
