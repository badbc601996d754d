/* Part of the codec's single translation unit (included by pdu.c): TPDU decoding. */

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                   */

struct rd {
    const uint8_t *p;
    size_t len, pos;
};

static int need(const struct rd *r, size_t n)
{
    return r->pos + n <= r->len ? PDU_OK : PDU_E_TRUNC;
}


static const char bcd_digit[16] = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
                                   '*', '#', 'a', 'b', 'c', 'F'};

/* Semi-octet digits of `octets` octets, low nibble first, at most `max` of them; the filler
 * 0xF is skipped wherever it stands.  A "+" goes first for international numbers that have
 * digits at all. */
static void put_bcd(const uint8_t *p, size_t octets, size_t max, int intl, struct wr *w)
{
    size_t start = w->n, got = 0;
    if (w->cap - w->n >= 2 * octets + 1) {          /* room for every digit: no checks inside */
        uint8_t *o = w->p + w->n;
        if (intl) *o++ = '+';
        for (size_t i = 0; i < octets * 2 && got < max; i++) {
            unsigned nib = (i & 1) ? (p[i / 2] >> 4) : (p[i / 2] & 0x0F);
            if (nib == 0xF) continue;
            *o++ = (uint8_t)bcd_digit[nib];
            got++;
        }
        w->n = got || !intl ? (size_t)(o - w->p) : start;
        return;
    }
    if (intl) put(w, '+');
    for (size_t i = 0; i < octets * 2 && got < max; i++) {
        unsigned nib = (i & 1) ? (p[i / 2] >> 4) : (p[i / 2] & 0x0F);
        if (nib == 0xF) continue;
        put(w, (uint8_t)bcd_digit[nib]);
        got++;
    }
    if (intl && got == 0) w->n = start;
}

static int ton(int toa)
{
    return (toa >> 4) & 7;
}

/* Alphanumeric address: `semi` semi-octets of packed GSM-7 in the default alphabet. */
static int read_alnum(const uint8_t *p, size_t octets, size_t semi, struct wr *w)
{
    uint8_t sep[160];
    size_t n = semi * 4 / 7;
    if (n > sizeof sep) return PDU_E_FIELD;
    TRY(unpack7(p, octets, 0, n, sep));
    /* encoders that count the length as 2 x octets make 7 septets look like 8: the last
     * one is then the 7 fill bits, zero (a phantom "@") or the CR of the CBS/USSD padding */
    if (semi * 4 % 56 == 0 && n > 0 && (sep[n - 1] == 0 || sep[n - 1] == 0x0D)) n--;
    septets_to_utf8(sep, n, 0, 0, w);
    return PDU_OK;
}

/* TP-OA/DA/RA: length in semi-octets, type of address, value. */
static int read_address(struct rd *r, int32_t *toa, struct wr *w)
{
    TRY(need(r, 1));
    size_t semi = r->p[r->pos++];
    size_t octets = (semi + 1) / 2;
    TRY(need(r, 1));
    *toa = r->p[r->pos++];
    TRY(need(r, octets));
    const uint8_t *v = r->p + r->pos;
    r->pos += octets;
    if (ton(*toa) == 5) return read_alnum(v, octets, semi, w);
    put_bcd(v, octets, semi, ton(*toa) == 1, w);
    return PDU_OK;
}

/* The SMSC field: length in octets including the type of address; no digits = absent. */
static int read_smsc(struct rd *r, int32_t *len_out, struct wr *w)
{
    TRY(need(r, 1));
    size_t octets = r->p[r->pos++];
    *len_out = -1;
    if (octets == 0) return PDU_OK;
    TRY(need(r, 1));
    uint8_t toa = r->p[r->pos++];
    TRY(need(r, octets - 1));
    const uint8_t *v = r->p + r->pos;
    r->pos += octets - 1;
    size_t start = w->n;
    put_bcd(v, octets - 1, (size_t)-1, ton(toa) == 1, w);
    if (w->n > start) *len_out = (int32_t)(w->n - start);
    return PDU_OK;
}

/* 7-octet time stamp as digits; t[0] = 1 when every digit is decimal, else 0 (the caller
 * then reports no time rather than failing the message). */
static int read_time(struct rd *r, int32_t *t)
{
    TRY(need(r, 7));
    const uint8_t *p = r->p + r->pos;
    int ok = 1;
    for (int i = 0; i < 7; i++) {
        if ((p[i] >> 4) > 9 || (i < 6 && (p[i] & 0x0F) > 9)) ok = 0;
        if (i < 6) t[i + 1] = (p[i] & 0x0F) * 10 + (p[i] >> 4);
    }
    int q = (p[6] & 0x07) * 10 + (p[6] >> 4);
    t[7] = (p[6] & 0x08) ? -q : q;
    t[0] = ok;
    r->pos += 7;
    return PDU_OK;
}

/* Alphabet and class of a DCS (TS 23.038 4). */
static void dcs_meaning(int dcs, int32_t *enc, int32_t *cls)
{
    int group = dcs >> 4;
    *cls = -1;
    *enc = PDU_ENC_GSM7;
    if (group <= 7) {
        if (dcs & 0x10) *cls = dcs & 3;
        if (dcs & 0x20) *enc = PDU_ENC_8BIT;          /* compressed: opaque data */
        else if (((dcs >> 2) & 3) == 1) *enc = PDU_ENC_8BIT;
        else if (((dcs >> 2) & 3) == 2) *enc = PDU_ENC_UCS2;
    } else if (group == 0xE) {
        *enc = PDU_ENC_UCS2;
    } else if (group == 0xF) {
        *cls = dcs & 3;
        if (dcs & 0x04) *enc = PDU_ENC_8BIT;
    }
}

/* Concatenation IEs with total 0, seq 0 or seq > total are ignored (TS 23.040 9.2.3.24.1);
 * of several valid ones the last counts. */
static void set_concat(pdu_decoded *d, int ref, int total, int seq)
{
    if (total == 0 || seq < 1 || seq > total) return;
    d->concat_ref = ref;
    d->concat_total = total;
    d->concat_seq = seq;
}

static int parse_udh(const uint8_t *bin, size_t off, size_t udhl, pdu_decoded *d, int *lock,
                     int *single)
{
    size_t i = off, end = off + udhl;
    while (i < end) {
        if (i + 2 > end) return PDU_E_UDH;
        int iei = bin[i];
        size_t l = bin[i + 1];
        if (i + 2 + l > end) return PDU_E_UDH;
        const uint8_t *v = bin + i + 2;
        if (d->n_ie >= PDU_MAX_IE) return PDU_E_UDH;
        d->ie[3 * d->n_ie] = iei;
        d->ie[3 * d->n_ie + 1] = (int32_t)(i + 2);
        d->ie[3 * d->n_ie + 2] = (int32_t)l;
        d->n_ie++;
        if (iei == 0x00 && l == 3) {
            set_concat(d, v[0], v[1], v[2]);
        } else if (iei == 0x08 && l == 4) {
            set_concat(d, (v[0] << 8) | v[1], v[2], v[3]);
        } else if (iei == 0x04 && l == 2) {
            d->port_dst = v[0]; d->port_src = v[1];
        } else if (iei == 0x05 && l == 4) {
            d->port_dst = (v[0] << 8) | v[1]; d->port_src = (v[2] << 8) | v[3];
        } else if (iei == 0x24 && l == 1) {
            /* the last IE counts; an unknown language means the default table */
            *single = v[0] < PDU_NLANG && pdu_has_single[v[0]] ? v[0] : 0;
        } else if (iei == 0x25 && l == 1) {
            *lock = v[0] < PDU_NLANG && pdu_has_lock[v[0]] ? v[0] : 0;
        }
        i += 2 + l;
    }
    return PDU_OK;
}

/* UTF-16BE -> UTF-8; lone surrogates become U+FFFD.  One room check up front (a unit never
 * needs more than three bytes, a pair of units four), then plain stores. */
static void decode_ucs2(const uint8_t *p, size_t n, struct wr *w)
{
    if (w->cap - w->n < n / 2 * 3) {
        w->err = PDU_E_SPACE;
        return;
    }
    uint8_t *o = w->p + w->n;
    size_t i = 0;
    while (i + 1 < n) {
        uint32_t u = ((uint32_t)p[i] << 8) | p[i + 1];
        i += 2;
        if (u < 0x80) {
            *o++ = (uint8_t)u;
            continue;
        }
        if (u < 0x800) {
            o[0] = (uint8_t)(0xC0 | (u >> 6));
            o[1] = (uint8_t)(0x80 | (u & 0x3F));
            o += 2;
            continue;
        }
        if (u >= 0xD800 && u <= 0xDFFF) {
            uint32_t lo = i + 1 < n ? ((uint32_t)p[i] << 8) | p[i + 1] : 0;
            if (u <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF) {
                uint32_t cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
                o[0] = (uint8_t)(0xF0 | (cp >> 18));
                o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
                o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
                o[3] = (uint8_t)(0x80 | (cp & 0x3F));
                o += 4;
                continue;
            }
            u = 0xFFFD;
        }
        o[0] = (uint8_t)(0xE0 | (u >> 12));
        o[1] = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (u & 0x3F));
        o += 3;
    }
    w->n = (size_t)(o - w->p);
}

/* TP-UDL and TP-UD.  The UDL is honoured exactly: nothing after it is read, and a PDU that
 * ends before the octets it announces fails (a shorter text would pass for the whole message);
 * a UDH that does not fit fails too. */
static int read_user_data(struct rd *r, pdu_decoded *d, struct wr *text, int ucs2_text)
{
    TRY(need(r, 1));
    size_t udl = r->p[r->pos++];
    size_t avail = r->len - r->pos;
    const uint8_t *ud = r->p + r->pos;
    int gsm = d->encoding == PDU_ENC_GSM7;
    int lock = 0, single = 0;
    size_t size = gsm ? (udl * 7 + 7) / 8 : udl;
    if (size > avail) return PDU_E_TRUNC;
    size_t hdr = 0;                                   /* octets of UDHL + UDH */
    if (d->first_octet & 0x40) {
        if (size == 0 || (size_t)ud[0] + 1 > size || (gsm && ((size_t)ud[0] + 1) * 8 > udl * 7))
            return PDU_E_UDH;
        hdr = (size_t)ud[0] + 1;
        TRY(parse_udh(r->p, r->pos + 1, hdr - 1, d, &lock, &single));
    }
    size_t dlen = size - hdr;
    const uint8_t *data = ud + hdr;
    d->data_off = (int32_t)(r->pos + hdr);
    d->data_len = (int32_t)dlen;
    r->pos += size;
    if (d->encoding == PDU_ENC_UCS2) {
        if (ucs2_text) decode_ucs2(data, dlen & ~(size_t)1, text);
    } else if (gsm && dlen > 0) {
        uint8_t sep[256];
        size_t skip = (hdr * 8 + 6) / 7, fill = skip * 7 - hdr * 8;
        size_t count = udl - skip, most = (dlen * 8 - fill) / 7;
        if (count > most) count = most;
        TRY(unpack7(data, dlen, (int)fill, count, sep));
        septets_to_utf8(sep, count, lock, single, text);
    }
    return PDU_OK;
}

static int decode_tpdu(struct rd *r, pdu_decoded *d, struct wr *addr, struct wr *text,
                       int ucs2_text)
{
    TRY(need(r, 1));
    int fo = r->p[r->pos++];
    int mti = fo & 3;
    size_t start;
    d->first_octet = fo;
    d->srr = (fo & 0x20) != 0;
    if (mti == 3) return PDU_E_MTI;
    d->kind = mti == 0 ? PDU_KIND_DELIVER : mti == 1 ? PDU_KIND_SUBMIT : PDU_KIND_STATUS_REPORT;
    if (mti != 0) {
        TRY(need(r, 1));
        d->mr = r->p[r->pos++];
    }
    start = addr->n;
    TRY(read_address(r, &d->number_toa, addr));
    d->number_len = (int32_t)(addr->n - start);
    if (mti == 2) {
        d->srr = 0;
        TRY(read_time(r, d->scts));
        TRY(read_time(r, d->discharge));
        TRY(need(r, 1));
        d->status = r->p[r->pos++];
        if (r->pos >= r->len) return PDU_OK;
        /* optional TP-PI (9.2.3.27): announced fields that are missing count as absent */
        int pi = r->p[r->pos++], ext = pi;
        while ((ext & 0x80) && r->pos < r->len) ext = r->p[r->pos++];
        if ((pi & 0x01) && r->pos < r->len) d->pid = r->p[r->pos++];
        if ((pi & 0x02) && r->pos < r->len) d->dcs = r->p[r->pos++];
        dcs_meaning(d->dcs, &d->encoding, &d->message_class);
        if ((pi & 0x04) && r->pos < r->len) {
            /* optional user data that does not hold together counts as absent: the report's
             * status is what matters, and losing it would leave the message undelivered */
            pdu_decoded keep;
            size_t at = text->n;
            memcpy(&keep, d, offsetof(pdu_decoded, ie));   /* the IEs count only to n_ie */
            if (read_user_data(r, d, text, ucs2_text) < 0) {
                memcpy(d, &keep, offsetof(pdu_decoded, ie));
                text->n = at;
            }
        }
        return PDU_OK;
    }
    TRY(need(r, 2));
    d->pid = r->p[r->pos];
    d->dcs = r->p[r->pos + 1];
    r->pos += 2;
    dcs_meaning(d->dcs, &d->encoding, &d->message_class);
    if (mti == 0) {
        TRY(read_time(r, d->scts));
    } else {
        static const int vp_sizes[4] = {0, 7, 1, 7};
        d->vpf = (fo >> 3) & 3;
        d->vp_len = vp_sizes[d->vpf];
        TRY(need(r, (size_t)d->vp_len));
        d->vp_off = (int32_t)r->pos;
        r->pos += (size_t)d->vp_len;
    }
    return read_user_data(r, d, text, ucs2_text);
}

static void reset_decoded(pdu_decoded *d)
{
    memset(d, 0, offsetof(pdu_decoded, ie));      /* the IE array is read up to n_ie only */
    d->smsc_len = -1;
    d->message_class = -1;
    d->mr = -1;
    d->status = -1;
    d->vp_off = -1;
    d->concat_ref = -1;
    d->port_dst = -1;
    d->encoding = PDU_ENC_GSM7;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* High bit of each byte set where that byte (all < 0x80) lies in lo..hi. */
static uint64_t in_range(uint64_t x, unsigned lo, unsigned hi)
{
    return (x + ONES * (0x80 - lo)) & ~(x + ONES * (0x7F - hi)) & HIGHS;
}

/* Eight hex digits -> four octets at out; 0, or -1 when any of them is not a hex digit.
 * SWAR: every byte is range-checked and converted at once inside one 64-bit word. */
static int unhex8(const char *in, uint8_t *out)
{
    uint64_t x = load_le64((const uint8_t *)in);
    if (x & HIGHS) return -1;
    uint64_t dig = in_range(x, '0', '9'), alpha = in_range(x | ONES * 0x20, 'a', 'f');
    if ((dig | alpha) != HIGHS) return -1;
    uint64_t v = (x & ONES * 0x0F) + (alpha >> 7) * 9;     /* nibble values, one per byte */
    v = ((v << 4) | (v >> 8)) & 0x00FF00FF00FF00FFull;     /* even bytes: the octets */
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFFull;
    uint32_t w = (uint32_t)(v | (v >> 16));
    memcpy(out, &w, 4);                                    /* little-endian only (caller) */
    return 0;
}
#endif

/* Hex pairs into bin; 0 or PDU_E_HEX. */
static int unhex(const char *in, size_t n, uint8_t *bin)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 4 <= n; i += 4)
        if (unhex8(in + 2 * i, bin + i)) return PDU_E_HEX;
#endif
    /* hexval1 is digit + 1, 0 for junk: junk turns into huge values and shows in `bad` */
    unsigned bad = 0;
    for (; i < n; i++) {
        unsigned hi = hexval1[(uint8_t)in[2 * i]] - 1u, lo = hexval1[(uint8_t)in[2 * i + 1]] - 1u;
        bad |= hi | lo;
        bin[i] = (uint8_t)(hi << 4 | lo);
    }
    return bad > 15 ? PDU_E_HEX : PDU_OK;
}

int pdu_decode(const char *in, size_t in_len, int flags, pdu_dctx *c)
{
    pdu_decoded *d = &c->d;
    const uint8_t *src = (const uint8_t *)in;
    size_t n = in_len;
    reset_decoded(d);
    if (flags & PDU_DEC_HEX) {
        if (in_len & 1) return PDU_E_HEX;
        n = in_len / 2;
        if (n > sizeof c->bin) return PDU_E_SPACE;
        TRY(unhex(in, n, c->bin));
        src = c->bin;
    }
    /* one writer: smsc, number and text land back to back, decoded by one str() call */
    struct rd r = {src, n, 0};
    struct wr w = {(uint8_t *)c->str, sizeof c->str, 0, 0};
    if (flags & PDU_DEC_SMSC) TRY(read_smsc(&r, &d->smsc_len, &w));
    size_t addr_start = w.n;
    TRY(decode_tpdu(&r, d, &w, &w, !(flags & PDU_DEC_RAW_UCS2)));
    if (w.err) return PDU_E_SPACE;
    d->text_len = (int32_t)(w.n - addr_start - (size_t)d->number_len);
    return PDU_OK;
}
