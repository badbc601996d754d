/* SMS PDU / GSM 03.38 codec: plain functions over caller-provided buffers.
 *
 * Every function takes explicit lengths and capacities, checks every read and write against
 * them, allocates nothing, and returns 0 or a negative PDU_E_* code (pdu_strerror() names it).
 * Texts cross the boundary as UTF-8; positions inside texts are counted in code points so the
 * caller can slice its own string.  This header is also the cffi cdef, so it holds only what
 * cffi's parser understands (no macros with expressions, no includes).
 */

#define PDU_OK 0
#define PDU_E_HEX -1        /* not an even-length hexadecimal string */
#define PDU_E_TRUNC -2      /* a length field points past the end of the PDU */
#define PDU_E_MTI -3        /* reserved message type indicator */
#define PDU_E_FIELD -4      /* a field holds a value the spec does not allow */
#define PDU_E_SPACE -5      /* an output buffer is too small */
#define PDU_E_UTF8 -6       /* the input text is not valid UTF-8 */
#define PDU_E_CHARSET -7    /* the text cannot be represented in the requested alphabet */
#define PDU_E_ADDR -8       /* an address (number) is empty, too long or has bad characters */
#define PDU_E_UDH -9        /* the user data header is malformed */
#define PDU_E_ARG -10       /* an argument is out of range */
#define PDU_E_TOOLONG -11   /* the text needs more than 255 parts */
#define PDU_E_COUNT 12

#define PDU_KIND_DELIVER 0
#define PDU_KIND_SUBMIT 1
#define PDU_KIND_STATUS_REPORT 2

#define PDU_ENC_AUTO 0
#define PDU_ENC_GSM7 1
#define PDU_ENC_UCS2 2
#define PDU_ENC_8BIT 3

#define PDU_MAX_IE 80

/* Result of pdu_decode, laid out as consecutive int32 so the wrapper can read it in one go.
 * Offsets (*_off) point into the binary PDU the decoder wrote into `bin`.  -1 means absent. */
typedef struct {
    int32_t kind;
    int32_t first_octet;
    int32_t smsc_len;           /* bytes of smsc text in `addr`, -1 when absent */
    int32_t number_len;         /* bytes of number text in `addr` after the smsc text */
    int32_t number_toa;
    int32_t pid;
    int32_t dcs;
    int32_t encoding;           /* PDU_ENC_GSM7 / UCS2 / 8BIT */
    int32_t message_class;
    int32_t mr;
    int32_t status;
    int32_t srr;
    int32_t scts[8];            /* digits valid, yy, mm, dd, hh, mi, ss, tz quarters (signed) */
    int32_t discharge[8];
    int32_t vpf;                /* 0 none, 1 enhanced, 2 relative, 3 absolute */
    int32_t vp_off;
    int32_t vp_len;
    int32_t concat_ref;
    int32_t concat_total;
    int32_t concat_seq;
    int32_t port_dst;
    int32_t port_src;
    int32_t data_off;
    int32_t data_len;
    int32_t text_len;           /* bytes of UTF-8 text in `text` */
    int32_t n_ie;
    int32_t ie[240];            /* n_ie triples: iei, data offset, data length */
} pdu_decoded;

/* One part written by pdu_encode_sms: hex[hex_off .. hex_off+hex_len) of the output buffer. */
typedef struct {
    int32_t hex_off;
    int32_t hex_len;
    int32_t tpdu_len;
    int32_t text_start;         /* code point index into the input text */
    int32_t text_end;
} pdu_part;

/* Options of pdu_encode_sms.  Strings are UTF-8 with explicit lengths. */
typedef struct {
    int32_t kind;               /* PDU_KIND_SUBMIT or PDU_KIND_DELIVER */
    int32_t encoding;           /* PDU_ENC_* */
    int32_t srr;                /* TP-SRR (submit) / TP-SRI (deliver) */
    int32_t flash;              /* class 0 DCS */
    int32_t mr;
    int32_t concat_ref;
    int32_t concat16;
    int32_t vpf;                /* submit: 0 none, 1 enhanced, 2 relative, 3 absolute */
    int32_t vp_len;
    int32_t has_smsc;
    int32_t pid;                /* submit: TP-PID */
    int32_t reject_duplicates;  /* submit: TP-RD */
    int32_t reply_path;         /* submit: TP-RP */
    int32_t languages;          /* bit n: national language id n may be used (0: none) */
    uint8_t vp[7];
    uint8_t scts[7];            /* deliver: the semi-octet SCTS */
} pdu_sms_opts;

/* Everything one pdu_decode call writes, in one block so that a call passes one pointer.
 * str holds the smsc, the number and the text back to back as UTF-8 (lengths in d). */
typedef struct {
    pdu_decoded d;
    uint8_t bin[1024];
    char str[4608];
} pdu_dctx;

/* flags: PDU_DEC_HEX = `in` is hex (decoded into c->bin), PDU_DEC_SMSC = the PDU starts with
 * the SMSC field, PDU_DEC_RAW_UCS2 = leave UCS2 user data as it is (no text in str, text_len
 * 0): the caller reads the UTF-16 code units at d.data_off itself. */
#define PDU_DEC_HEX 1
#define PDU_DEC_SMSC 2
#define PDU_DEC_RAW_UCS2 4
int pdu_decode(const char *in, size_t in_len, int flags, pdu_dctx *c);

/* Output of pdu_encode_sms and pdu_submit: hex text of all parts, then the part table. */
typedef struct {
    char out[102000];
    pdu_part parts[255];
} pdu_ectx;

/* Returns the number of parts (> 0) written to c, or a negative PDU_E_* code. */
int pdu_encode_sms(const pdu_sms_opts *o, const char *number, size_t number_len,
                   const char *smsc, size_t smsc_len, const char *text, size_t text_len,
                   pdu_ectx *c);

/* pdu_encode_sms with the default SMS-SUBMIT options (automatic alphabet, no SMSC, MR 0, no
 * validity): the common case of sending, with the fewest arguments to convert.  Returns a
 * negative PDU_E_* code, or parts | parts[0].tpdu_len << 8 so that a one-part message needs
 * nothing else read back: its hex is out[0 .. 2 + 2 * tpdu_len) ("00" SMSC, then the TPDU). */
int pdu_submit(const char *number, size_t number_len, const char *text, size_t text_len,
               pdu_ectx *c);

int pdu_encode_status_report(const char *recipient, size_t recipient_len, int mr, int status,
                             const uint8_t *scts, const uint8_t *discharge,
                             const char *smsc, size_t smsc_len, int has_smsc,
                             char *out, size_t out_cap, size_t *out_len);

/* encoding: PDU_ENC_*; languages: the mask of pdu_sms_opts.languages; writes the number of
 * parts encode_submit would produce (concat16 off). */
int pdu_count_parts(const char *text, size_t text_len, int encoding, int languages,
                    int *n_parts);

/* Cheapest alphabet: *encoding is GSM7 or UCS2; *locking / *single are national language ids
 * (0 = default tables) out of the allowed `languages` mask. */
int pdu_choose_encoding(const char *text, size_t text_len, int languages, int *encoding,
                        int *locking, int *single);

int pdu_ussd_encode(const char *text, size_t text_len, uint8_t *out, size_t out_cap,
                    size_t *out_len);
int pdu_ussd_decode(const char *data, size_t data_len, char *text, size_t text_cap,
                    size_t *text_len);

const char *pdu_strerror(int code);
