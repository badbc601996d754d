/* Part of the codec's single translation unit (included by pdu.c): UTF-8, GSM-7 character mapping, septet packing. */

/* ------------------------------------------------------------------------------------------ */
/* UTF-8 in and out                                                                            */

/* Decodes one code point at *pos; returns it, or -1 on malformed input. */
static int32_t utf8_next(const uint8_t *s, size_t len, size_t *pos)
{
    size_t i = *pos;
    uint32_t c = s[i], cp;
    int n;
    if (c < 0x80) { *pos = i + 1; return (int32_t)c; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return -1;
    if (i + (size_t)n >= len) return -1;
    for (int k = 1; k <= n; k++) {
        uint32_t t = s[i + (size_t)k];
        if ((t & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (t & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
        return -1;
    if (cp >= 0xD800 && cp <= 0xDFFF) return -1;
    *pos = i + (size_t)n + 1;
    return (int32_t)cp;
}

/* Code points in valid UTF-8 (continuation bytes are not counted). */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += ((uint8_t)s[i] & 0xC0) != 0x80;
    return n;
}

struct wr {            /* bounded writer */
    uint8_t *p;
    size_t cap, n;
    int err;
};

static void put(struct wr *w, uint8_t b)
{
    if (w->n < w->cap) w->p[w->n++] = b;
    else w->err = PDU_E_SPACE;
}

static void put_utf8(struct wr *w, uint32_t cp)
{
    if (cp < 0x80) { put(w, (uint8_t)cp); return; }
    if (cp < 0x800) { put(w, (uint8_t)(0xC0 | (cp >> 6))); }
    else {
        if (cp < 0x10000) put(w, (uint8_t)(0xE0 | (cp >> 12)));
        else {
            put(w, (uint8_t)(0xF0 | (cp >> 18)));
            put(w, (uint8_t)(0x80 | ((cp >> 12) & 0x3F)));
        }
        put(w, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
    }
    put(w, (uint8_t)(0x80 | (cp & 0x3F)));
}

/* ------------------------------------------------------------------------------------------ */
/* GSM-7 character mapping                                                                    */

/* Septet code for cp in the (locking, single) tables: 0..127 plain, 0x100|code after ESC,
 * -1 when absent. */
static int rev_search(const uint32_t *tab, int lo, int hi, uint32_t cp)
{
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        uint32_t k = tab[mid] >> 8;
        if (k == cp) return (int)(tab[mid] & 0xFF);
        if (k < cp) lo = mid + 1; else hi = mid;
    }
    return -1;
}

static int gsm_code(uint32_t cp, int lock, int single)
{
    int c;
    if (lock == 0 && cp < PDU_DEF_REV_N) {
        if (pdu_def_rev[cp]) return pdu_def_rev[cp] - 1;
    } else if (lock != 0) {
        c = rev_search(pdu_lock_rev, pdu_lock_rev_start[lock], pdu_lock_rev_start[lock + 1], cp);
        if (c >= 0) return c;
    }
    if (single == 0) {
        if (cp < PDU_DEF_REV_N && pdu_ext_rev[cp]) return 0x100 | (pdu_ext_rev[cp] - 1);
        return -1;
    }
    c = rev_search(pdu_single_rev, pdu_single_rev_start[single], pdu_single_rev_start[single + 1],
                   cp);
    return c >= 0 ? (0x100 | c) : -1;
}

/* Character of a decoded septet.  An ESC followed by a code the shift table leaves undefined
 * shows the locking-table character (TS 23.038 6.2.1.1); undefined codes become a space. */
static uint32_t gsm_char(int code, int escaped, int lock, int single)
{
    uint16_t ch;
    if (escaped) {
        ch = pdu_single[single][code];
        if (ch != UNDEF) return ch;
    }
    ch = pdu_lock[lock][code];
    return ch != UNDEF ? ch : 0x20;
}

/* Septets -> UTF-8.  A trailing lone ESC is dropped. */
static void septets_to_utf8(const uint8_t *sep, size_t n, int lock, int single, struct wr *w)
{
    for (size_t i = 0; i < n; i++) {
        int c = sep[i];
        if (c == ESC) {
            if (i + 1 >= n) break;
            put_utf8(w, gsm_char(sep[++i], 1, lock, single));
        } else {
            put_utf8(w, gsm_char(c, 0, lock, single));
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Septet packing                                                                             */

/* Unpacks n septets starting `fill` bits into `in` (in_len octets available). */
static int unpack7(const uint8_t *in, size_t in_len, int fill, size_t n, uint8_t *out)
{
    if (((size_t)fill + n * 7 + 7) / 8 > in_len) return PDU_E_TRUNC;
    size_t o = (size_t)fill / 8;
    uint32_t acc = 0;
    int bits = -(fill % 8);                      /* the first octet's fill bits are skipped */
    for (size_t i = 0; i < n; i++) {
        while (bits < 7) {
            if (bits < 0) acc = (uint32_t)in[o++] >> -bits;
            else acc |= (uint32_t)in[o++] << bits;
            bits += 8;
        }
        out[i] = (uint8_t)(acc & 0x7F);
        acc >>= 7;
        bits -= 7;
    }
    return PDU_OK;
}

/* Packs n septets after `fill` zero bits; out must hold (fill + 7n + 7) / 8 octets. */
static size_t pack7(const uint8_t *sep, size_t n, int fill, uint8_t *out)
{
    uint32_t acc = 0;
    int bits = fill;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint32_t)sep[i] << bits;
        bits += 7;
        if (bits >= 8) {
            out[o++] = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    if (bits > 0) out[o++] = (uint8_t)acc;
    return o;
}


/* hex digit value + 1, 0 for anything else */
static const uint8_t hexval1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
    ['F'] = 16, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};
