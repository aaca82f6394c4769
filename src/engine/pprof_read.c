/* pprof_read.c — pprof reader (see pprof_read.h).
 *
 * The protobuf walk is one function per message, each run twice: pass 1
 * checks the structure and counts (strings, string bytes, sample types,
 * samples, values, labels, comments), pass 2 re-walks the same bytes and
 * fills arrays of exactly that size.  String indices can only be checked in
 * pass 2 (the string table comes after the samples in strobe's files, and
 * nothing orders fields in general).  Every write in pass 2 is still bounded
 * by the pass-1 count. */
#include "errf.h"
#include "pprof_read.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

/* profile.proto field numbers */
enum {
    P_SAMPLE_TYPE = 1, P_SAMPLE = 2, P_MAPPING = 3, P_LOCATION = 4, P_FUNCTION = 5,
    P_STRING_TABLE = 6, P_DROP_FRAMES = 7, P_KEEP_FRAMES = 8, P_TIME_NANOS = 9,
    P_DURATION_NANOS = 10, P_PERIOD_TYPE = 11, P_PERIOD = 12, P_COMMENT = 13,
    P_DEFAULT_SAMPLE_TYPE = 14,
    VT_TYPE = 1, VT_UNIT = 2,
    S_LOCATION_ID = 1, S_VALUE = 2, S_LABEL = 3,
    L_KEY = 1, L_STR = 2, L_NUM = 3, L_NUM_UNIT = 4,
};

#define MAX_GROUP_DEPTH 32


/* ---- the wire format --------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end;
} rd;

typedef struct {
    const uint8_t *base;        /* start of the message: offsets in errors */
    size_t total;
    pprof_profile *out;
    int fill;                   /* pass 2 */
    int failed;
    char *err;
    size_t errlen;
    /* pass 1: counts; pass 2: write positions */
    size_t nstr, str_bytes, nst, nsamples, nvalues, nlabels, ncomments;
    size_t nmappings, nlocations, nfunctions, nlocation_refs, nnum_labels;
    /* pass 1 only */
    size_t first_str_len;
    size_t first_nvals, odd_sample, odd_nvals;
    int odd;
} pctx;

static int fail(pctx *c, const uint8_t *at, const char *fmt, ...)
{
    if (c->failed)
        return -1;
    c->failed = 1;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    strobe_errf(c->err, c->errlen, "%s (at byte %zu of %zu)", msg, (size_t)(at - c->base), c->total);
    return -1;
}

/* A varint of at most 10 bytes whose value fits 64 bits; 0 or -1. */
static int get_varint(rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return -1;
        uint8_t b = *r->p++;
        if (i == 9 && b > 1)
            return -1;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

typedef struct {
    uint32_t num;
    int wt;
    uint64_t v;                 /* VARINT, I64, I32 */
    rd body;                    /* LEN */
    const uint8_t *at;          /* the field's key */
} field;

static int skip_group(pctx *c, rd *r, uint32_t num, const uint8_t *at, int depth);

/* The next field of r: 1, 0 at the end, -1 on error.  A group (wire type 3)
 * is skipped whole and returned as a field with no value; an end-group
 * (wire type 4) is returned as is, for skip_group. */
static int read_field(pctx *c, rd *r, field *f, int depth)
{
    if (r->p >= r->end)
        return 0;
    f->at = r->p;
    uint64_t key;
    if (get_varint(r, &key))
        return fail(c, f->at, "truncated or overlong field key");
    if (key > UINT32_MAX)
        return fail(c, f->at, "field number out of range");
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    f->v = 0;
    f->body.p = f->body.end = NULL;
    if (f->num == 0)
        return fail(c, f->at, "field number 0");
    switch (f->wt) {
    case WT_VARINT:
        if (get_varint(r, &f->v))
            return fail(c, f->at, "truncated or overlong varint in field %" PRIu32, f->num);
        break;
    case WT_I64:
    case WT_I32: {
        size_t n = f->wt == WT_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return fail(c, f->at, "truncated %zu-byte field %" PRIu32, n, f->num);
        for (size_t i = 0; i < n; i++)
            f->v |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        break;
    }
    case WT_LEN: {
        uint64_t n;
        if (get_varint(r, &n))
            return fail(c, f->at, "truncated or overlong length of field %" PRIu32, f->num);
        if (n > (uint64_t)(r->end - r->p))
            return fail(c, f->at, "field %" PRIu32 " is %" PRIu64 " bytes long, only %zu remain",
                        f->num, n, (size_t)(r->end - r->p));
        f->body.p = r->p;
        f->body.end = r->p + n;
        r->p += n;
        break;
    }
    case WT_SGROUP:
        if (skip_group(c, r, f->num, f->at, depth + 1))
            return -1;
        break;
    case WT_EGROUP:
        break;
    default:
        return fail(c, f->at, "invalid wire type %d (field %" PRIu32 ")", f->wt, f->num);
    }
    return 1;
}

static int skip_group(pctx *c, rd *r, uint32_t num, const uint8_t *at, int depth)
{
    if (depth > MAX_GROUP_DEPTH)
        return fail(c, at, "groups nested too deep");
    for (;;) {
        field g;
        int rc = read_field(c, r, &g, depth);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return fail(c, at, "group %" PRIu32 " is not closed", num);
        if (g.wt == WT_EGROUP) {
            if (g.num != num)
                return fail(c, g.at, "group %" PRIu32 " closed as %" PRIu32, num, g.num);
            return 0;
        }
    }
}

/* Next field of a message body: as read_field, but a stray end-group is an error. */
static int next_field(pctx *c, rd *r, field *f)
{
    int rc = read_field(c, r, f, 0);
    if (rc == 1 && f->wt == WT_EGROUP)
        return fail(c, f->at, "end of group %" PRIu32 " that was never opened", f->num);
    return rc;
}

static int want(pctx *c, const field *f, int wt, const char *what)
{
    static const char *const names[] = {"varint", "fixed64", "length-delimited", "group", "end-group",
                                        "fixed32"};
    if (f->wt == wt)
        return 0;
    return fail(c, f->at, "%s has wire type %s, not %s", what, names[f->wt], names[wt]);
}

/* Repeated varints: one VARINT field, or a packed run (LEN) of them. */
typedef struct {
    rd r;
    int single, done;
    uint64_t v;
    const uint8_t *at;
} ints_it;

static int ints_begin(pctx *c, const field *f, ints_it *it, const char *what)
{
    memset(it, 0, sizeof *it);
    it->at = f->at;
    it->done = 0;
    if (f->wt == WT_VARINT) {
        it->single = 1;
        it->v = f->v;
        return 0;
    }
    if (f->wt == WT_LEN) {
        it->single = 0;
        it->r = f->body;
        return 0;
    }
    return fail(c, f->at, "%s has wire type %d, not varint or packed", what, f->wt);
}

static int ints_next(pctx *c, ints_it *it, uint64_t *v)
{
    if (it->single) {
        if (it->done)
            return 0;
        it->done = 1;
        *v = it->v;
        return 1;
    }
    if (it->r.p >= it->r.end)
        return 0;
    const uint8_t *at = it->r.p;
    if (get_varint(&it->r, v))
        return fail(c, at, "truncated or overlong varint in a packed field");
    return 1;
}

/* In pass 2: is v a string index? */
static int check_str(pctx *c, const uint8_t *at, uint64_t v, const char *what)
{
    if (c->fill && v >= c->out->nstr)
        return fail(c, at, "%s refers to string %" PRIu64 ", the table has %zu", what, v, c->out->nstr);
    return 0;
}

/* ---- messages ------------------------------------------------------------ */

static int parse_value_type(pctx *c, rd body, pprof_value_type *vt, const char *what)
{
    field f;
    int rc;
    while ((rc = next_field(c, &body, &f)) == 1) {
        if (f.num != VT_TYPE && f.num != VT_UNIT)
            continue;
        if (want(c, &f, WT_VARINT, what) || check_str(c, f.at, f.v, what))
            return -1;
        if (f.num == VT_TYPE)
            vt->type = (uint32_t)f.v;
        else
            vt->unit = (uint32_t)f.v;
    }
    return rc;
}

static int parse_label(pctx *c, rd body)
{
    uint64_t key = 0, str = 0, unit = 0;
    int has_num = 0;
    field f;
    int rc;
    while ((rc = next_field(c, &body, &f)) == 1) {
        if (f.num < L_KEY || f.num > L_NUM_UNIT)
            continue;
        if (want(c, &f, WT_VARINT, "a label field"))
            return -1;
        switch (f.num) {
        case L_KEY:
            if (check_str(c, f.at, f.v, "a label's key"))
                return -1;
            key = f.v;
            break;
        case L_STR:
            if (check_str(c, f.at, f.v, "a label's value"))
                return -1;
            str = f.v;
            break;
        case L_NUM:
            has_num = 1;
            break;
        case L_NUM_UNIT:
            if (check_str(c, f.at, f.v, "a label's unit"))
                return -1;
            unit = f.v;
            break;
        }
    }
    if (rc < 0)
        return -1;
    /* As pprof itself: a string label when str is set, else numeric. */
    if (str) {
        if (c->fill) {
            if (c->nlabels >= c->out->label_off[c->out->nsamples])
                return fail(c, body.p, "internal: more labels than counted");
            c->out->labels[c->nlabels] = (pprof_label){(uint32_t)key, (uint32_t)str};
        }
        c->nlabels++;
    } else if (has_num || unit) {
        c->nnum_labels++;
    }
    return 0;
}

static int parse_sample(pctx *c, rd body, const uint8_t *at)
{
    pprof_profile *o = c->out;
    size_t idx = c->nsamples, nvals = 0;
    if (c->fill) {
        if (idx >= o->nsamples)
            return fail(c, at, "internal: more samples than counted");
        o->label_off[idx] = c->nlabels;
    }
    field f;
    int rc;
    while ((rc = next_field(c, &body, &f)) == 1) {
        ints_it it;
        uint64_t v;
        int r2;
        switch (f.num) {
        case S_LOCATION_ID:
            if (ints_begin(c, &f, &it, "a sample's location ids"))
                return -1;
            while ((r2 = ints_next(c, &it, &v)) == 1)
                c->nlocation_refs++;
            if (r2 < 0)
                return -1;
            break;
        case S_VALUE:
            if (ints_begin(c, &f, &it, "a sample's values"))
                return -1;
            while ((r2 = ints_next(c, &it, &v)) == 1) {
                if (c->fill) {
                    if (nvals >= o->nsample_type)
                        return fail(c, f.at, "internal: more values than counted");
                    o->values[idx * o->nsample_type + nvals] = (int64_t)v;
                }
                nvals++;
            }
            if (r2 < 0)
                return -1;
            break;
        case S_LABEL:
            if (want(c, &f, WT_LEN, "a sample's label") || parse_label(c, f.body))
                return -1;
            break;
        default:
            break;
        }
    }
    if (rc < 0)
        return -1;
    if (c->fill) {
        if (nvals != o->nsample_type)
            return fail(c, at, "internal: sample %zu has %zu values, counted %zu", idx, nvals,
                        o->nsample_type);
        o->label_off[idx + 1] = c->nlabels;
    } else if (idx == 0) {
        c->first_nvals = nvals;
    } else if (nvals != c->first_nvals && !c->odd) {
        c->odd = 1;
        c->odd_sample = idx;
        c->odd_nvals = nvals;
    }
    c->nvalues += nvals;
    c->nsamples++;
    return 0;
}

static int parse_profile(pctx *c, const uint8_t *data, size_t len)
{
    pprof_profile *o = c->out;
    rd r = {data, data + len};
    field f;
    int rc;
    while ((rc = next_field(c, &r, &f)) == 1) {
        ints_it it;
        uint64_t v;
        int r2;
        switch (f.num) {
        case P_SAMPLE_TYPE: {
            pprof_value_type vt = {0, 0};
            if (want(c, &f, WT_LEN, "sample_type") || parse_value_type(c, f.body, &vt, "sample_type"))
                return -1;
            if (c->fill) {
                if (c->nst >= o->nsample_type)
                    return fail(c, f.at, "internal: more sample types than counted");
                o->sample_type[c->nst] = vt;
            }
            c->nst++;
            break;
        }
        case P_SAMPLE:
            if (want(c, &f, WT_LEN, "sample") || parse_sample(c, f.body, f.at))
                return -1;
            break;
        case P_MAPPING:
        case P_LOCATION:
        case P_FUNCTION:
            if (want(c, &f, WT_LEN, f.num == P_MAPPING ? "mapping" : f.num == P_LOCATION ? "location"
                                                                                        : "function"))
                return -1;
            if (f.num == P_MAPPING)
                c->nmappings++;
            else if (f.num == P_LOCATION)
                c->nlocations++;
            else
                c->nfunctions++;
            break;
        case P_STRING_TABLE: {
            if (want(c, &f, WT_LEN, "string_table"))
                return -1;
            size_t n = (size_t)(f.body.end - f.body.p);
            if (c->fill) {
                if (c->nstr >= o->nstr || n > c->str_bytes)
                    return fail(c, f.at, "internal: more strings than counted");
                memcpy(o->str_data + o->str_off[c->nstr], f.body.p, n);
                o->str_data[o->str_off[c->nstr] + n] = 0;
                o->str_off[c->nstr + 1] = o->str_off[c->nstr] + n + 1;
                c->str_bytes -= n;
            } else {
                if (c->nstr == 0)
                    c->first_str_len = n;
                c->str_bytes += n;
            }
            c->nstr++;
            break;
        }
        case P_DROP_FRAMES:
        case P_KEEP_FRAMES:
            if (want(c, &f, WT_VARINT, f.num == P_DROP_FRAMES ? "drop_frames" : "keep_frames") ||
                check_str(c, f.at, f.v, f.num == P_DROP_FRAMES ? "drop_frames" : "keep_frames"))
                return -1;
            break;
        case P_TIME_NANOS:
        case P_DURATION_NANOS:
        case P_PERIOD:
            if (want(c, &f, WT_VARINT, f.num == P_TIME_NANOS ? "time_nanos"
                                       : f.num == P_PERIOD   ? "period"
                                                             : "duration_nanos"))
                return -1;
            if (c->fill) {
                if (f.num == P_TIME_NANOS)
                    o->time_nanos = (int64_t)f.v;
                else if (f.num == P_PERIOD)
                    o->period = (int64_t)f.v;
                else
                    o->duration_nanos = (int64_t)f.v;
            }
            break;
        case P_PERIOD_TYPE: {
            pprof_value_type vt = o->period_type;
            if (want(c, &f, WT_LEN, "period_type") || parse_value_type(c, f.body, &vt, "period_type"))
                return -1;
            if (c->fill)
                o->period_type = vt;
            break;
        }
        case P_COMMENT:
            if (ints_begin(c, &f, &it, "comment"))
                return -1;
            while ((r2 = ints_next(c, &it, &v)) == 1) {
                if (check_str(c, f.at, v, "a comment"))
                    return -1;
                if (c->fill) {
                    if (c->ncomments >= o->ncomments)
                        return fail(c, f.at, "internal: more comments than counted");
                    o->comments[c->ncomments] = (uint32_t)v;
                }
                c->ncomments++;
            }
            if (r2 < 0)
                return -1;
            break;
        case P_DEFAULT_SAMPLE_TYPE:
            if (want(c, &f, WT_VARINT, "default_sample_type") ||
                check_str(c, f.at, f.v, "default_sample_type"))
                return -1;
            if (c->fill)
                o->default_sample_type = (uint32_t)f.v;
            break;
        default:
            break;      /* unknown: read_field consumed it */
        }
    }
    return rc < 0 ? -1 : 0;
}

/* n elements of `size` bytes (at least one, so that 0 is not a failure). */
static void *alloc_n(size_t n, size_t size)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / size)
        return NULL;
    return malloc(n * size);
}

void pprof_free(pprof_profile *p)
{
    if (!p)
        return;
    free(p->str_data);
    free(p->str_off);
    free(p->sample_type);
    free(p->values);
    free(p->labels);
    free(p->label_off);
    free(p->comments);
    memset(p, 0, sizeof *p);
}

static void ctx_init(pctx *c, const unsigned char *data, size_t len, pprof_profile *out, char *err,
                     size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->base = data;
    c->total = len;
    c->out = out;
    c->err = err;
    c->errlen = errlen;
}

int pprof_parse(const unsigned char *data, size_t len, pprof_profile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!data && len)
        return strobe_errf(err, errlen, "no data"), -1;
    pctx c;
    ctx_init(&c, data, len, out, err, errlen);

    if (parse_profile(&c, data, len))
        return -1;
    if (c.nstr == 0)
        return strobe_errf(err, errlen, "no string table"), -1;
    if (c.first_str_len != 0)
        return strobe_errf(err, errlen, "the string table does not start with \"\""), -1;
    if (c.nsamples && c.first_nvals != c.nst)
        return strobe_errf(err, errlen, "sample 0 has %zu values for %zu sample types", c.first_nvals,
                       c.nst), -1;
    if (c.odd)
        return strobe_errf(err, errlen, "sample %zu has %zu values for %zu sample types", c.odd_sample,
                       c.odd_nvals, c.nst), -1;
    if (c.nstr > UINT32_MAX)
        return strobe_errf(err, errlen, "too many strings (%zu)", c.nstr), -1;

    out->nstr = c.nstr;
    out->nsample_type = c.nst;
    out->nsamples = c.nsamples;
    out->ncomments = c.ncomments;
    size_t blob = c.str_bytes + c.nstr;     /* both bounded by len */
    out->str_data = alloc_n(blob, 1);
    out->str_off = alloc_n(c.nstr + 1, sizeof *out->str_off);
    out->sample_type = alloc_n(c.nst, sizeof *out->sample_type);
    out->values = alloc_n(c.nvalues, sizeof *out->values);
    out->labels = alloc_n(c.nlabels, sizeof *out->labels);
    out->label_off = alloc_n(c.nsamples + 1, sizeof *out->label_off);
    out->comments = alloc_n(c.ncomments, sizeof *out->comments);
    if (!out->str_data || !out->str_off || !out->sample_type || !out->values || !out->labels ||
        !out->label_off || !out->comments) {
        pprof_free(out);
        return strobe_errf(err, errlen, "out of memory (%zu samples, %zu strings)", c.nsamples, c.nstr), -1;
    }
    out->str_off[0] = 0;
    /* label_off[nsamples] bounds the label writes of pass 2 until it is final */
    out->label_off[c.nsamples] = c.nlabels;

    pctx c2;
    ctx_init(&c2, data, len, out, err, errlen);
    c2.fill = 1;
    c2.str_bytes = c.str_bytes;     /* counts down */
    if (parse_profile(&c2, data, len)) {
        pprof_free(out);
        return -1;
    }
    if (c2.nstr != c.nstr || c2.nst != c.nst || c2.nsamples != c.nsamples || c2.nlabels != c.nlabels ||
        c2.ncomments != c.ncomments || c2.nvalues != c.nvalues || c2.str_bytes != 0) {
        pprof_free(out);
        return strobe_errf(err, errlen, "internal: the two passes disagree"), -1;
    }
    out->nmappings = c.nmappings;
    out->nlocations = c.nlocations;
    out->nfunctions = c.nfunctions;
    out->nlocation_refs = c.nlocation_refs;
    out->nnum_labels = c.nnum_labels;
    return 0;
}

/* ---- gzip ------------------------------------------------------------------ */

int pprof_gunzip(const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen,
                 char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    const size_t chunk = (size_t)1 << 30, max = PPROF_READ_MAX_BYTES;
    /* The last member's trailer holds its size mod 2^32: a hint only. */
    size_t cap = inlen < max / 4 ? inlen * 4 : max;
    if (inlen >= 18) {
        size_t hint = (size_t)in[inlen - 4] | (size_t)in[inlen - 3] << 8 | (size_t)in[inlen - 2] << 16 |
                      (size_t)in[inlen - 1] << 24;
        if (hint >= inlen && hint < max && hint / 1100 <= inlen)
            cap = hint + 1;
    }
    if (cap < 65536)
        cap = 65536;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return strobe_errf(err, errlen, "out of memory"), -1;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        free(buf);
        return strobe_errf(err, errlen, "zlib: cannot initialise the decompressor"), -1;
    }
    size_t in_off = 0, len = 0;
    int ok = 0;
    for (;;) {
        if (zs.avail_in == 0 && in_off < inlen) {
            size_t n = inlen - in_off < chunk ? inlen - in_off : chunk;
            zs.next_in = (Bytef *)(in + in_off);
            zs.avail_in = (uInt)n;
            in_off += n;
        }
        if (len == cap) {
            if (cap >= max) {
                strobe_errf(err, errlen, "the profile decompresses to more than %zu MiB", max >> 20);
                break;
            }
            size_t ncap = cap < max / 2 ? cap * 2 : max;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                strobe_errf(err, errlen, "out of memory while decompressing (%zu MiB so far)", len >> 20);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t room = cap - len < chunk ? cap - len : chunk;
        zs.next_out = buf + len;
        zs.avail_out = (uInt)room;
        int rc = inflate(&zs, Z_NO_FLUSH);
        len += room - zs.avail_out;
        if (rc == Z_STREAM_END) {
            size_t left = zs.avail_in + (inlen - in_off), pos = inlen - left;
            if (left == 0) {
                ok = 1;
                break;
            }
            if (left >= 2 && in[pos] == 0x1f && in[pos + 1] == 0x8b) {
                if (inflateReset(&zs) != Z_OK) {
                    strobe_errf(err, errlen, "zlib: cannot reset the decompressor");
                    break;
                }
                continue;       /* another gzip member */
            }
            strobe_errf(err, errlen, "%zu bytes of trailing garbage after the gzip data", left);
            break;
        }
        if (rc == Z_OK)
            continue;
        if (rc == Z_BUF_ERROR && zs.avail_out == 0)
            continue;           /* output full: grow */
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_off >= inlen) {
            strobe_errf(err, errlen, "truncated gzip data (the file ends inside the compressed stream)");
            break;
        }
        strobe_errf(err, errlen, "corrupt gzip data (%s)", zs.msg ? zs.msg : "inflate failed");
        break;
    }
    inflateEnd(&zs);
    if (!ok) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

/* ---- files ------------------------------------------------------------------- */

static int looks_like_text(const unsigned char *d, size_t len)
{
    size_t n = len < 256 ? len : 256;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = d[i];
        if (ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t')
            return 0;
        if (ch == 0x7f)
            return 0;
    }
    return n > 0;
}

int pprof_read_mem(const unsigned char *data, size_t len, pprof_profile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return strobe_errf(err, errlen, "empty file"), -1;
    char why[256] = "";
    if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        unsigned char *raw = NULL;
        size_t rawlen = 0;
        if (pprof_gunzip(data, len, &raw, &rawlen, err, errlen))
            return -1;
        int rc = pprof_parse(raw, rawlen, out, why, sizeof why);
        free(raw);
        if (rc) {
            strobe_errf(err, errlen, "corrupt profile: %s", why);
            return -1;
        }
        out->gzipped = 1;
        return 0;
    }
    if (pprof_parse(data, len, out, why, sizeof why) == 0)
        return 0;
    if (looks_like_text(data, len))
        strobe_errf(err, errlen, "not a pprof profile: it is text (strobe report reads pprof files, "
                             "such as `strobe record -o out.pprof` writes)");
    else
        strobe_errf(err, errlen, "not a pprof profile (neither gzip'd nor a valid profile message: %s)", why);
    return -1;
}

int pprof_read_file(const char *path, pprof_profile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int is_stdin = !strcmp(path, "-");
    int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return strobe_errf(err, errlen, "cannot open it: %s", strerror(errno)), -1;
    size_t cap = 65536, len = 0;
    struct stat st;
    if (fstat(fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            if (!is_stdin)
                close(fd);
            return strobe_errf(err, errlen, "it is a directory"), -1;
        }
        if (S_ISREG(st.st_mode) && st.st_size > 0) {
            if ((uint64_t)st.st_size > PPROF_READ_MAX_BYTES) {
                if (!is_stdin)
                    close(fd);
                return strobe_errf(err, errlen, "too large (%" PRIu64 " MiB; at most %zu MiB)",
                               (uint64_t)st.st_size >> 20, PPROF_READ_MAX_BYTES >> 20), -1;
            }
            cap = (size_t)st.st_size + 1;   /* +1: the end is seen without growing */
        }
    }
    unsigned char *buf = malloc(cap);
    int rc = -1;
    if (!buf) {
        strobe_errf(err, errlen, "out of memory");
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap > PPROF_READ_MAX_BYTES) {
                strobe_errf(err, errlen, "too large (more than %zu MiB)", PPROF_READ_MAX_BYTES >> 20);
                goto out;
            }
            size_t ncap = cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                strobe_errf(err, errlen, "out of memory");
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            strobe_errf(err, errlen, "cannot read it: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    rc = pprof_read_mem(buf, len, out, err, errlen);
out:
    free(buf);
    if (!is_stdin)
        close(fd);
    return rc;
}

/* ---- lookups ------------------------------------------------------------------ */

int pprof_str_is(const pprof_profile *p, uint32_t id, const char *s)
{
    size_t len;
    const char *v = pprof_str(p, id, &len);
    return id < p->nstr && len == strlen(s) && memcmp(v, s, len) == 0;
}

int pprof_sample_type_index(const pprof_profile *p, const char *type)
{
    for (size_t i = 0; i < p->nsample_type && i < INT32_MAX; i++)
        if (pprof_str_is(p, p->sample_type[i].type, type))
            return (int)i;
    return -1;
}
