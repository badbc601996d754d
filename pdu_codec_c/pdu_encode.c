/* Part of the codec's single translation unit (included by pdu.c): SMS-SUBMIT / SMS-DELIVER / STATUS-REPORT building and USSD. */

/* ------------------------------------------------------------------------------------------ */
/* Encoding                                                                                   */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Four octets -> eight upper-case hex digits in one 64-bit word (SWAR): each octet moves to
 * its own 16-bit lane, nibbles are split into bytes, and 7 is added where a nibble is > 9. */
static void hex4(const uint8_t *p, uint8_t *o)
{
    uint64_t x = (uint64_t)p[0] | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 32 |
                 (uint64_t)p[3] << 48;
    uint64_t lo4 = 0x000F000F000F000Full;
    uint64_t n = ((x >> 4) & lo4) | ((x & lo4) << 8);      /* high nibble first */
    uint64_t ones = 0x0101010101010101ull;
    uint64_t alpha = ((n + ones * 0x76) & (ones * 0x80)) >> 7;
    uint64_t c = n + ones * '0' + alpha * 7;
    memcpy(o, &c, 8);                                      /* little-endian only (caller) */
}
#endif

static void put_hex(struct wr *w, const uint8_t *p, size_t n)
{
    if (w->cap - w->n < 2 * n) {
        w->err = PDU_E_SPACE;
        return;
    }
    uint8_t *o = w->p + w->n;
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 4 <= n; i += 4)
        hex4(p + i, o + 2 * i);
#endif
    for (; i < n; i++) {
        const char *h = pdu_hex2 + 2 * p[i];
        o[2 * i] = (uint8_t)h[0];
        o[2 * i + 1] = (uint8_t)h[1];
    }
    w->n += 2 * n;
}

static int all_digits(const char *s, size_t len)
{
    for (size_t k = 0; k < len; k++)
        if (!((s[k] >= '0' && s[k] <= '9') || s[k] == '*' || s[k] == '#')) return 0;
    return 1;
}

static int encode_alnum(const char *s, size_t len, uint8_t *out, int *semi)
{
    uint8_t sep[16];
    size_t pos = 0, n = 0;
    while (pos < len) {
        int32_t cp = utf8_next((const uint8_t *)s, len, &pos);
        if (cp < 0) return PDU_E_UTF8;
        int c = gsm_code((uint32_t)cp, 0, 0);
        if (c < 0) return PDU_E_CHARSET;
        if (n + 1 + (c > 0xFF) > 11) return PDU_E_ADDR;
        if (c > 0xFF) sep[n++] = ESC;
        sep[n++] = (uint8_t)(c & 0x7F);
    }
    *semi = (int)((n * 7 + 3) / 4);
    return (int)pack7(sep, n, 0, out);
}

/* Address value into out (10 octets at most); returns octets written or a negative error.
 * "+digits" is international, digits (with * and #) unknown, anything else alphanumeric.
 * *semi gets the TP length (digits or used semi-octets), *toa the type of address. */
static int encode_address(const char *s, size_t len, uint8_t *out, int *semi, int *toa)
{
    size_t i = 0;
    if (len == 0) return PDU_E_ARG;
    if (s[0] == '+' && len > 1 && all_digits(s + 1, len - 1)) i = 1;
    else if (!all_digits(s, len)) {
        *toa = 0xD0;
        return encode_alnum(s, len, out, semi);
    }
    size_t nd = len - i;
    if (nd > 20) return PDU_E_ADDR;
    memset(out, 0, (nd + 1) / 2);
    for (size_t k = 0; k < nd; k++) {
        char ch = s[i + k];
        unsigned v = ch == '*' ? 0xA : ch == '#' ? 0xB : (unsigned)(ch - '0');
        out[k / 2] |= (uint8_t)((k & 1) ? v << 4 : v);
    }
    if (nd & 1) out[nd / 2] |= 0xF0;
    *semi = (int)nd;
    *toa = i ? 0x91 : 0x81;
    return (int)((nd + 1) / 2);
}

static int put_smsc(struct wr *w, const char *smsc, size_t len, int has)
{
    uint8_t v[12];
    int semi = 0, toa = 0;
    if (!has) { put_hex(w, (const uint8_t *)"\0", 1); return PDU_OK; }
    int n = encode_address(smsc, len, v, &semi, &toa);
    if (n < 0 || toa == 0xD0) return toa == 0xD0 ? PDU_E_ADDR : n;
    uint8_t hdr[2] = {(uint8_t)(n + 1), (uint8_t)toa};
    put_hex(w, hdr, 2);
    put_hex(w, v, (size_t)n);
    return PDU_OK;
}


static uint8_t dcs_for(const struct plan *p, int flash)
{
    uint8_t dcs = p->enc == PDU_ENC_UCS2 ? 0x08 : p->enc == PDU_ENC_8BIT ? 0x04 : 0x00;
    return flash ? (uint8_t)(dcs | 0x10) : dcs;
}

/* Header of one SMS-SUBMIT / SMS-DELIVER up to and including the DCS (and VP / SCTS). */
static size_t tpdu_header(const pdu_sms_opts *o, const struct plan *p, int udhi,
                          const uint8_t *num, int num_oct, int semi, int toa, uint8_t *h)
{
    size_t n = 0;
    if (o->kind == PDU_KIND_SUBMIT) {
        h[n++] = (uint8_t)(0x01 | (o->vpf << 3) | (o->reject_duplicates ? 0x04 : 0) |
                           (o->srr ? 0x20 : 0) | (udhi ? 0x40 : 0) | (o->reply_path ? 0x80 : 0));
        h[n++] = (uint8_t)o->mr;
    } else {
        h[n++] = (uint8_t)(0x04 | (o->srr ? 0x20 : 0) | (udhi ? 0x40 : 0));
    }
    h[n++] = (uint8_t)semi;
    h[n++] = (uint8_t)toa;
    memcpy(h + n, num, (size_t)num_oct);
    n += (size_t)num_oct;
    h[n++] = o->kind == PDU_KIND_SUBMIT ? (uint8_t)o->pid : 0x00;
    h[n++] = dcs_for(p, o->flash);
    if (o->kind == PDU_KIND_SUBMIT) {
        memcpy(h + n, o->vp, (size_t)o->vp_len);
        n += (size_t)o->vp_len;
    } else {
        memcpy(h + n, o->scts, 7);
        n += 7;
    }
    return n;
}

/* UDH (with UDHL) for one part; returns its length in octets (0 when none). */
static size_t build_udh(const pdu_sms_opts *o, const struct plan *p, size_t seq, uint8_t *u)
{
    size_t n = 1;
    if (p->nparts > 1) {
        if (p->concat16) {
            u[n++] = 0x08; u[n++] = 4;
            u[n++] = (uint8_t)(o->concat_ref >> 8); u[n++] = (uint8_t)o->concat_ref;
        } else {
            u[n++] = 0x00; u[n++] = 3; u[n++] = (uint8_t)o->concat_ref;
        }
        u[n++] = (uint8_t)p->nparts;
        u[n++] = (uint8_t)seq;
    }
    if (p->lock) { u[n++] = 0x25; u[n++] = 1; u[n++] = (uint8_t)p->lock; }
    if (p->single) { u[n++] = 0x24; u[n++] = 1; u[n++] = (uint8_t)p->single; }
    if (n == 1) return 0;
    u[0] = (uint8_t)(n - 1);
    return n;
}

struct part_in {
    const uint8_t *units;      /* septets or octets of this part */
    size_t n;                  /* their count */
};

static int emit_part(const pdu_sms_opts *o, const struct plan *p, size_t seq,
                     const uint8_t *hdr, size_t hdr_len, const struct part_in *pi,
                     const char *smsc, size_t smsc_len, struct wr *w, pdu_part *part)
{
    uint8_t tp[200], udh[16];
    size_t udh_len = build_udh(o, p, seq, udh);
    size_t n = hdr_len, start = w->n;
    memcpy(tp, hdr, hdr_len);
    if (udh_len) tp[0] |= 0x40;
    if (p->enc == PDU_ENC_GSM7) {
        size_t hsep = (udh_len * 8 + 6) / 7;
        tp[n++] = (uint8_t)(hsep + pi->n);
        memcpy(tp + n, udh, udh_len);
        uint8_t packed[160];
        size_t plen = pack7(pi->units, pi->n, (int)(hsep * 7 - udh_len * 8), packed);
        memcpy(tp + n + udh_len, packed, plen);
        n += udh_len + plen;
    } else {
        tp[n++] = (uint8_t)(udh_len + pi->n);
        memcpy(tp + n, udh, udh_len);
        memcpy(tp + n + udh_len, pi->units, pi->n);
        n += udh_len + pi->n;
    }
    TRY(put_smsc(w, smsc, smsc_len, o->has_smsc));
    put_hex(w, tp, n);
    if (w->err) return w->err;
    part->hex_off = (int32_t)start;
    part->hex_len = (int32_t)(w->n - start);
    part->tpdu_len = (int32_t)n;
    return PDU_OK;
}

int pdu_encode_sms(const pdu_sms_opts *o, const char *number, size_t number_len,
                   const char *smsc, size_t smsc_len, const char *text, size_t text_len,
                   pdu_ectx *c)
{
    char *out = c->out;
    size_t out_cap = sizeof c->out;
    pdu_part *parts = c->parts;
    const int max_parts = (int)(sizeof c->parts / sizeof c->parts[0]);
    struct plan p;
    uint8_t num[12], hdr[40], units[160];
    int semi, toa, semi2 = 0, toa2 = 0;
    if (o->vp_len < 0 || o->vp_len > 7 || o->vpf < 0 || o->vpf > 3 || o->mr < 0 ||
        o->mr > 255 || o->pid < 0 || o->pid > 255 || o->concat_ref < 0 ||
        o->concat_ref > (o->concat16 ? 0xFFFF : 0xFF))
        return PDU_E_ARG;
    /* text first, then addresses: the same order of complaints as the Python backend */
    TRY(make_plan(text, text_len, o->encoding, o->concat16, o->languages, &p));
    int num_oct = encode_address(number, number_len, num, &semi, &toa);
    if (num_oct < 0) return num_oct;
    if (o->has_smsc) {
        uint8_t v[12];
        int sn = encode_address(smsc, smsc_len, v, &semi2, &toa2);
        if (sn < 0 || toa2 == 0xD0) return toa2 == 0xD0 ? PDU_E_ADDR : sn;
    }
    if ((int)p.nparts > max_parts) return PDU_E_SPACE;
    size_t hdr_len = tpdu_header(o, &p, 0, num, num_oct, semi, toa, hdr);
    size_t nat = national_udh(p.lock, p.single);
    size_t cap = part_capacity(p.enc, p.nparts > 1 ? nat + (p.concat16 ? 6 : 5) : nat);
    struct wr w = {(uint8_t *)out, out_cap, 0, 0};
    size_t pos = 0, seq = 0, chars = 0;
    struct unit u;
    struct part_in pi = {units, 0};
    int32_t part_start = 0;
    int fast7 = p.enc == PDU_ENC_GSM7 && p.lock == 0 && p.single == 0;
    int ascii_ok = fast7 || p.enc != PDU_ENC_GSM7;
    size_t usz = p.enc == PDU_ENC_UCS2 ? 2 : 1, un = 0;
    for (;;) {
        int full = 0;
        /* fast path: runs of ASCII in the default alphabet, UCS2 or 8-bit */
        /* the fast loops run on local copies: pos has its address taken (text_unit) and
         * every byte store into units could otherwise alias it */
        size_t at = pos, n_units = un, n_chars = chars;
        while (ascii_ok && usz == 1 && at < text_len) {
            uint8_t b = (uint8_t)text[at];
            uint8_t v = fast7 ? pdu_def_rev[b & 0x7F] : (uint8_t)(b + 1);
            if (b >= 0x80 || v == 0) break;
            if (n_units + 1 > cap) { full = 1; break; }
            units[n_units++] = (uint8_t)(v - 1);
            at++;
            n_chars++;
        }
        /* UCS2: ASCII and two-byte UTF-8 inline; longer sequences take text_unit below */
        while (usz == 2 && at < text_len) {
            int32_t cp = (uint8_t)text[at];
            size_t step = 1;
            if (cp >= 0x80) {
                cp = utf8_two(text, text_len, at);
                step = 2;
                if (cp < 0) break;
            }
            if (n_units + 2 > cap) { full = 1; break; }
            units[n_units++] = (uint8_t)(cp >> 8);
            units[n_units++] = (uint8_t)cp;
            at += step;
            n_chars++;
        }
        pos = at;
        un = n_units;
        chars = n_chars;
        if (!full && pos < text_len) {
            size_t save = pos;
            TRY(text_unit(text, text_len, &pos, p.enc, p.lock, p.single, &u));
            if (un + (size_t)u.cost > cap) {
                pos = save;
                full = 1;
            } else {
                memcpy(units + un, u.b, (size_t)u.cost);
                un += (size_t)u.cost;
                chars++;
                if (pos < text_len) continue;
            }
        }
        if (!full && pos < text_len) continue;
        if ((int)seq >= max_parts) return PDU_E_SPACE;
        pi.n = un;
        TRY(emit_part(o, &p, seq + 1, hdr, hdr_len, &pi, smsc, smsc_len, &w, &parts[seq]));
        parts[seq].text_start = part_start;
        parts[seq].text_end = (int32_t)chars;
        part_start = (int32_t)chars;
        seq++;
        un = 0;
        if (pos >= text_len) break;
    }
    return (int)seq;
}

int pdu_submit(const char *number, size_t number_len, const char *text, size_t text_len,
               pdu_ectx *c)
{
    static const pdu_sms_opts defaults = {PDU_KIND_SUBMIT, PDU_ENC_AUTO};
    int n = pdu_encode_sms(&defaults, number, number_len, "", 0, text, text_len, c);
    return n > 0 ? n | c->parts[0].tpdu_len << 8 : n;
}

int pdu_encode_status_report(const char *recipient, size_t recipient_len, int mr, int status,
                             const uint8_t *scts, const uint8_t *discharge,
                             const char *smsc, size_t smsc_len, int has_smsc,
                             char *out, size_t out_cap, size_t *out_len)
{
    uint8_t tp[40], num[12];
    int semi, toa;
    size_t n = 0;
    if (mr < 0 || mr > 255 || status < 0 || status > 255) return PDU_E_ARG;
    int num_oct = encode_address(recipient, recipient_len, num, &semi, &toa);
    if (num_oct < 0) return num_oct;
    tp[n++] = 0x06;
    tp[n++] = (uint8_t)mr;
    tp[n++] = (uint8_t)semi;
    tp[n++] = (uint8_t)toa;
    memcpy(tp + n, num, (size_t)num_oct);
    n += (size_t)num_oct;
    memcpy(tp + n, scts, 7);
    memcpy(tp + n + 7, discharge, 7);
    n += 14;
    tp[n++] = (uint8_t)status;
    struct wr w = {(uint8_t *)out, out_cap, 0, 0};
    TRY(put_smsc(&w, smsc, smsc_len, has_smsc));
    put_hex(&w, tp, n);
    if (w.err) return w.err;
    *out_len = w.n;
    return PDU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* USSD (TS 23.038 6.1.2.3.1): packed GSM-7 where a CR pads 7 spare bits                      */

struct bitw {          /* septet packer writing octets as they fill */
    uint8_t *p;
    size_t cap, n;
    uint32_t acc;
    int bits, err;
};

static void bitw_put7(struct bitw *b, unsigned sep)
{
    b->acc |= (uint32_t)sep << b->bits;
    b->bits += 7;
    while (b->bits >= 8) {
        if (b->n < b->cap) b->p[b->n++] = (uint8_t)b->acc;
        else b->err = PDU_E_SPACE;
        b->acc >>= 8;
        b->bits -= 8;
    }
}

int pdu_ussd_encode(const char *text, size_t text_len, uint8_t *out, size_t out_cap,
                    size_t *out_len)
{
    struct bitw b = {out, out_cap, 0, 0, 0, 0};
    size_t pos = 0, n = 0;
    unsigned last = 0;
    struct unit u;
    while (pos < text_len) {
        TRY(text_unit(text, text_len, &pos, PDU_ENC_GSM7, 0, 0, &u));
        for (int k = 0; k < u.cost; k++) bitw_put7(&b, last = u.b[k]);
        n += (size_t)u.cost;
    }
    /* 7 spare bits would read as '@': pad with CR; a CR ending on an octet boundary is
     * doubled so the receiver's stripping of the padding leaves it in place. */
    if (n % 8 == 7 || (n % 8 == 0 && n > 0 && last == 0x0D)) bitw_put7(&b, 0x0D);
    if (b.bits > 0) {
        if (b.n < b.cap) b.p[b.n++] = (uint8_t)b.acc;
        else b.err = PDU_E_SPACE;
    }
    if (b.err) return b.err;
    *out_len = b.n;
    return PDU_OK;
}

static unsigned septet_at(const uint8_t *p, size_t i)
{
    size_t bit = i * 7, o = bit >> 3;
    unsigned sh = bit & 7, v = p[o] >> sh;
    if (sh > 1) v |= (unsigned)p[o + 1] << (8 - sh);
    return v & 0x7F;
}

int pdu_ussd_decode(const char *data, size_t data_len, char *text, size_t text_cap,
                    size_t *text_len)
{
    const uint8_t *p = (const uint8_t *)data;
    size_t n = data_len * 8 / 7;
    /* drop the padding CR, or the second of a doubled final CR */
    if (n > 0 && septet_at(p, n - 1) == 0x0D &&
        (n % 8 == 0 || (n % 8 == 1 && n > 1 && septet_at(p, n - 2) == 0x0D)))
        n--;
    struct wr w = {(uint8_t *)text, text_cap, 0, 0};
    for (size_t i = 0; i < n; i++) {
        unsigned c = septet_at(p, i);
        if (c == ESC) {
            if (i + 1 >= n) break;
            put_utf8(&w, gsm_char((int)septet_at(p, ++i), 1, 0, 0));
        } else {
            put_utf8(&w, gsm_char((int)c, 0, 0, 0));
        }
    }
    if (w.err) return w.err;
    *text_len = w.n;
    return PDU_OK;
}
