/* Part of the codec's single translation unit (included by pdu.c): encoding choice and segmentation, mirroring smsd/pdu/text.py. */

/* One text unit: the septets/octets a character costs and its bytes. */
struct unit {
    int32_t cp;
    int cost;          /* septets (gsm7), octets (ucs2, 8bit) */
    uint8_t b[4];
};

static int text_unit(const char *t, size_t len, size_t *pos, int enc, int lock, int single,
                     struct unit *u)
{
    int32_t cp = utf8_next((const uint8_t *)t, len, pos);
    if (cp < 0) return PDU_E_UTF8;
    u->cp = cp;
    if (enc == PDU_ENC_GSM7) {
        int c = gsm_code((uint32_t)cp, lock, single);
        if (c < 0) return PDU_E_CHARSET;
        if (c > 0xFF) { u->b[0] = ESC; u->b[1] = (uint8_t)(c & 0x7F); u->cost = 2; }
        else { u->b[0] = (uint8_t)c; u->cost = 1; }
    } else if (enc == PDU_ENC_UCS2) {
        if (cp >= 0x10000) {
            uint32_t v = (uint32_t)cp - 0x10000, hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
            u->b[0] = (uint8_t)(hi >> 8); u->b[1] = (uint8_t)hi;
            u->b[2] = (uint8_t)(lo >> 8); u->b[3] = (uint8_t)lo;
            u->cost = 4;
        } else {
            u->b[0] = (uint8_t)(cp >> 8); u->b[1] = (uint8_t)cp; u->cost = 2;
        }
    } else {
        if (cp > 0xFF) return PDU_E_CHARSET;
        u->b[0] = (uint8_t)cp;
        u->cost = 1;
    }
    return PDU_OK;
}

/* Total cost and character count of the whole text. */
static int text_cost(const char *t, size_t len, int enc, int lock, int single, size_t *cost_out,
                     size_t *chars_out)
{
    size_t pos = 0, cost = 0, chars = 0;     /* locals: t may alias the outputs */
    struct unit u;
    int fast = enc != PDU_ENC_GSM7 || (lock == 0 && single == 0);
    /* fast path: ASCII costs one septet in the default alphabet (when it is in it), two
     * octets in UCS2 and one in 8-bit */
    size_t ascii = enc == PDU_ENC_UCS2 ? 2 : 1;
    int gsm = enc == PDU_ENC_GSM7;
    while (pos < len) {
        if (fast) {
            /* a local index: pos has its address taken below, so it lives in memory */
            size_t i = pos;
            while (i < len && (uint8_t)t[i] < 0x80 && (!gsm || pdu_def_rev[(uint8_t)t[i]])) i++;
            cost += (i - pos) * ascii;
            chars += i - pos;
            pos = i;
            if (pos >= len) break;
        }
        if (ascii == 2 && utf8_two(t, len, pos) >= 0) {   /* UCS2: U+0080..U+07FF */
            pos += 2;
            cost += 2;
            chars++;
            continue;
        }
        TRY(text_unit(t, len, &pos, enc, lock, single, &u));
        cost += (size_t)u.cost;
        chars++;
    }
    *cost_out = cost;
    *chars_out = chars;
    return PDU_OK;
}

/* Capacity of one part in cost units given the UDH octets (UDHL excluded, 0 = no UDH). */
static size_t part_capacity(int enc, size_t udh)
{
    size_t hdr = udh ? udh + 1 : 0;
    if (enc == PDU_ENC_GSM7) return 160 - (hdr * 8 + 6) / 7;
    if (enc == PDU_ENC_UCS2) return (140 - hdr) & ~(size_t)1;
    return 140 - hdr;
}

static size_t national_udh(int lock, int single)
{
    return (lock ? 3u : 0u) + (single ? 3u : 0u);
}

struct plan {
    int enc, lock, single, concat16;
    size_t cost, chars, nparts;
};

/* A national pair is allowed when each of its non-default tables is in the mask. */
static int pair_allowed(int lock, int single, int languages)
{
    return (!lock || (languages >> lock & 1)) && (!single || (languages >> single & 1));
}

/* Parts the text needs with the plan's alphabet and tables (not capped at 255 here: plans are
 * compared first, the winner is checked). */
static int plan_parts(const char *t, size_t len, struct plan *p)
{
    size_t nat = national_udh(p->lock, p->single);
    TRY(text_cost(t, len, p->enc, p->lock, p->single, &p->cost, &p->chars));
    if (p->cost <= part_capacity(p->enc, nat)) { p->nparts = 1; return PDU_OK; }
    size_t cap = part_capacity(p->enc, nat + (p->concat16 ? 6 : 5));
    size_t unit = p->enc == PDU_ENC_UCS2 ? 2 : 1;
    if (p->cost == p->chars * unit) {
        /* no escapes or surrogate pairs: every cut falls exactly at the capacity */
        p->nparts = (p->cost + cap - 1) / cap;
        return PDU_OK;
    }
    size_t pos = 0, used = 0, n = 1;
    struct unit u;
    while (pos < len) {
        TRY(text_unit(t, len, &pos, p->enc, p->lock, p->single, &u));
        if (used + (size_t)u.cost > cap) { n++; used = 0; }
        used += (size_t)u.cost;
    }
    p->nparts = n;
    return PDU_OK;
}

/* True when some national table holds every character the default tables lack: without
 * that no national pair can carry the text and the search is skipped. */
static int national_possible(const char *t, size_t len)
{
    size_t pos = 0;
    int n = (int)(sizeof pdu_any_rev / sizeof pdu_any_rev[0]);
    while (pos < len) {
        uint8_t c = (uint8_t)t[pos];
        if (c < 0x80 && pdu_def_rev[c]) { pos++; continue; }
        int32_t cp = utf8_next((const uint8_t *)t, len, &pos);
        if (cp < 0) return 0;
        if (gsm_code((uint32_t)cp, 0, 0) >= 0) continue;
        if (rev_search(pdu_any_rev, 0, n, (uint32_t)cp) < 0) return 0;
    }
    return 1;
}

/* Replaces *best by the first allowed national pair needing fewer than *best_n parts,
 * repeatedly. */
static int national_search(const char *t, size_t len, int concat16, int languages,
                           struct plan *best, size_t *best_n, size_t chars)
{
    if (!(languages & PDU_ALL_LANGUAGES)) return PDU_OK;
    /* one IE costs the least room: if even that cannot beat best_n, no pair can */
    if (chars > part_capacity(PDU_ENC_GSM7, 3)) {
        size_t per = part_capacity(PDU_ENC_GSM7, 3 + (concat16 ? 6 : 5));
        if ((chars + per - 1) / per >= *best_n) return PDU_OK;
    }
    if (!national_possible(t, len)) return PDU_OK;
    /* pdu_pairs: generated in the order of preference (fewest UDH IEs, lowest ids) */
    for (size_t k = 0; k < sizeof pdu_pairs / sizeof pdu_pairs[0]; k++) {
        int l = pdu_pairs[k] >> 8, s = pdu_pairs[k] & 0xFF;
        if (!pair_allowed(l, s, languages)) continue;
        size_t nat = national_udh(l, s);
        if (chars > part_capacity(PDU_ENC_GSM7, nat)) {
            size_t per = part_capacity(PDU_ENC_GSM7, nat + (concat16 ? 6 : 5));
            if ((chars + per - 1) / per >= *best_n) continue;     /* cannot win */
        }
        struct plan q = {PDU_ENC_GSM7, l, s, concat16, 0, 0, 0};
        int rc = plan_parts(t, len, &q);
        if (rc == PDU_E_CHARSET) continue;
        if (rc < 0) return rc;
        if (q.nparts < *best_n) { *best = q; *best_n = q.nparts; }
    }
    return PDU_OK;
}

/* encoding="gsm7": the default tables unless an allowed national pair saves parts or is
 * needed. */
static int choose_gsm7(const char *t, size_t len, int concat16, int languages, struct plan *best)
{
    struct plan d = {PDU_ENC_GSM7, 0, 0, concat16, 0, 0, 0};
    size_t best_n = (size_t)-1;
    int rc = plan_parts(t, len, &d);
    if (rc < 0 && rc != PDU_E_CHARSET) return rc;
    if (rc == PDU_OK) {
        *best = d;
        best_n = d.nparts;
        if (d.nparts == 1) return PDU_OK;
    }
    TRY(national_search(t, len, concat16, languages, best, &best_n, utf8_chars(t, len)));
    return best_n == (size_t)-1 ? PDU_E_CHARSET : PDU_OK;
}

/* encoding="auto": fewest parts; ties go to default GSM-7, then an allowed national pair,
 * then UCS2. */
static int choose_auto(const char *t, size_t len, int concat16, int languages, struct plan *best)
{
    struct plan d = {PDU_ENC_GSM7, 0, 0, concat16, 0, 0, 0};
    struct plan u = {PDU_ENC_UCS2, 0, 0, concat16, 0, 0, 0};
    int rc = plan_parts(t, len, &d);
    if (rc < 0 && rc != PDU_E_CHARSET) return rc;
    if (rc == PDU_OK && d.nparts == 1) { *best = d; return PDU_OK; }
    if (rc == PDU_OK) {
        /* UCS2 cannot need fewer parts: a GSM-7 character costs at most 2 of 160 / 153
         * septets (>= 76 characters a part), a UCS2 one at least 2 of 140 / 134 octets
         * (<= 67), and the tie goes to GSM-7; only national tables can still win */
        *best = d;
        size_t best_n = d.nparts;
        return national_search(t, len, concat16, languages, best, &best_n, d.chars);
    }
    TRY(plan_parts(t, len, &u));
    *best = u;
    /* a national pair needing as many parts as UCS2 still wins: one more in the bound */
    size_t best_n = u.nparts + 1;
    return national_search(t, len, concat16, languages, best, &best_n, u.chars);
}

int pdu_choose_encoding(const char *text, size_t text_len, int languages, int *encoding,
                        int *locking, int *single)
{
    struct plan p;
    TRY(choose_auto(text, text_len, 0, languages, &p));
    *encoding = p.enc;
    *locking = p.lock;
    *single = p.single;
    return PDU_OK;
}

static int make_plan(const char *t, size_t len, int encoding, int concat16, int languages,
                     struct plan *p)
{
    if (encoding == PDU_ENC_AUTO) {
        TRY(choose_auto(t, len, concat16, languages, p));
    } else if (encoding == PDU_ENC_GSM7) {
        TRY(choose_gsm7(t, len, concat16, languages, p));
    } else if (encoding == PDU_ENC_UCS2 || encoding == PDU_ENC_8BIT) {
        struct plan q = {encoding, 0, 0, concat16, 0, 0, 0};
        *p = q;
        TRY(plan_parts(t, len, p));
    } else {
        return PDU_E_ARG;
    }
    return p->nparts > 255 ? PDU_E_TOOLONG : PDU_OK;
}

int pdu_count_parts(const char *text, size_t text_len, int encoding, int languages,
                    int *n_parts)
{
    struct plan p;
    TRY(make_plan(text, text_len, encoding, 0, languages, &p));
    *n_parts = (int)p.nparts;
    return PDU_OK;
}
