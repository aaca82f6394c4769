/* pprof_read.h — read a pprof profile (perftools.profiles.Profile, the public
 * profile.proto) back into memory: what `strobe report` needs of it.
 *
 * Input: gzip'd (one or more members) or raw protobuf; packed and unpacked
 * repeated scalars; unknown fields of every wire type (groups included) are
 * skipped.  Every length and index is checked: a truncated or corrupt file is
 * an error with a one-line reason, never a read outside the input.
 *
 * Kept: the string table, sample types, every sample's values and string
 * labels, period type and period, time and duration, comments and the
 * default sample type.  Locations, functions and mappings are parsed past
 * and only counted; so are numeric labels and a sample's location ids.
 *
 * Memory is flat: one block of string bytes, one array of values (sample-major,
 * nsample_type per sample) and one array of labels with per-sample offsets;
 * no allocation per sample.  Two passes over the decoded bytes: the first
 * checks the structure and counts, the second fills arrays of exact size.
 *
 * The checks match what `go tool pprof` requires: string_table[0] is "", every
 * string index is in the table, every sample has one value per sample type. */
#ifndef STROBE_PPROF_READ_H
#define STROBE_PPROF_READ_H

#include <stddef.h>
#include <stdint.h>

/* Largest input accepted, compressed or decompressed (bytes). */
#define PPROF_READ_MAX_BYTES ((size_t)4 << 30)

typedef struct {
    uint32_t type, unit;        /* string ids */
} pprof_value_type;

typedef struct {
    uint32_t key, str;          /* string ids; str is never 0 */
} pprof_label;

typedef struct {
    /* String i: str_data + str_off[i], str_off[i + 1] - str_off[i] - 1 bytes,
     * followed by a NUL (the bytes themselves may hold NULs).  nstr >= 1 and
     * string 0 is "". */
    char *str_data;
    size_t *str_off;            /* nstr + 1 entries */
    size_t nstr;

    pprof_value_type *sample_type;
    size_t nsample_type;

    /* Sample i: values[i * nsample_type ...] and
     * labels[label_off[i] .. label_off[i + 1]) (string labels only). */
    size_t nsamples;
    int64_t *values;
    pprof_label *labels;
    size_t *label_off;          /* nsamples + 1 entries */

    pprof_value_type period_type;   /* 0, 0 when absent */
    int64_t period;
    int64_t time_nanos, duration_nanos;
    uint32_t *comments;         /* string ids */
    size_t ncomments;
    uint32_t default_sample_type;   /* string id; 0 when absent */

    /* parsed past, counted */
    size_t nmappings, nlocations, nfunctions;
    size_t nlocation_refs;      /* location ids over all samples */
    size_t nnum_labels;         /* numeric labels over all samples */
    int gzipped;                /* the input was gzip'd */
} pprof_profile;

/* Each returns 0 and fills *out (release it with pprof_free), or -1 with a
 * one-line reason in err ("truncated gzip data", "not a pprof profile: ...")
 * and *out empty (pprof_free is harmless on it).
 *
 * pprof_read_file: path "-" is stdin.  pprof_read_mem: gzip'd or raw, told
 * apart by the gzip magic.  pprof_parse: raw protobuf only. */
int pprof_read_file(const char *path, pprof_profile *out, char *err, size_t errlen);
int pprof_read_mem(const unsigned char *data, size_t len, pprof_profile *out, char *err, size_t errlen);
int pprof_parse(const unsigned char *data, size_t len, pprof_profile *out, char *err, size_t errlen);
void pprof_free(pprof_profile *p);

/* gunzip data[0..len) (all members) into a malloc'd buffer; 0 or -1 + err. */
int pprof_gunzip(const unsigned char *data, size_t len, unsigned char **out, size_t *outlen,
                 char *err, size_t errlen);

static inline const char *pprof_str(const pprof_profile *p, uint32_t id, size_t *len)
{
    if (id >= p->nstr) {
        if (len) *len = 0;
        return "";
    }
    if (len) *len = p->str_off[id + 1] - p->str_off[id] - 1;
    return p->str_data + p->str_off[id];
}

static inline const int64_t *pprof_sample_values(const pprof_profile *p, size_t i)
{
    return p->values + i * p->nsample_type;
}

static inline const pprof_label *pprof_sample_labels(const pprof_profile *p, size_t i, size_t *n)
{
    *n = p->label_off[i + 1] - p->label_off[i];
    return p->labels + p->label_off[i];
}

/* Does string id equal the NUL-terminated s? */
int pprof_str_is(const pprof_profile *p, uint32_t id, const char *s);
/* Index of the first sample type named `type`, or -1. */
int pprof_sample_type_index(const pprof_profile *p, const char *type);

#endif
