/* profile.h — the in-memory profile: interned strings, functions, locations,
 * stacks and label sets, and the values accumulated per (stack, label set).
 *
 * Invariants:
 *  - Every table is append-only while the profile lives; an id is an index
 *    into its table and never changes.  String id 0 is always "".
 *  - A stack is stored leaf first (pprof order).  Its elements are location
 *    ids.  Synthetic elements (such as "<N frames omitted>" or a task marker)
 *    are ordinary functions whose file is string 0 and whose line is 0.
 *  - The profile is not thread-safe: the sampler serialises all access
 *    (see sampler.c); exporters run while no one mutates it.
 *  - Memory is bounded by the caps in struct profile_limits; what a cap
 *    refuses is counted in `dropped_*`, never silently lost.
 */
#ifndef STROBE_PROFILE_H
#define STROBE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#define PROF_MAX_VALUES 8
#define PROF_MAX_LABELS 8
#define PROF_MAX_COMMENTS 64

typedef struct {
    uint32_t name;       /* string id */
    uint32_t file;       /* string id; 0 for synthetic elements */
    int64_t start_line;  /* 0 when unknown */
} prof_function;

typedef struct {
    uint32_t function;   /* function id */
    int64_t line;        /* 0 when unknown */
} prof_location;

typedef struct {
    uint32_t key;        /* string id of the label's name */
    uint32_t str;        /* string id of its value */
} prof_label;

typedef struct {
    uint32_t stack;      /* stack id */
    uint32_t labels;     /* label-set id */
    int64_t values[PROF_MAX_VALUES];
} prof_sample;

typedef struct {
    uint32_t type;       /* string id, e.g. "wall-time" */
    uint32_t unit;       /* string id, e.g. "nanoseconds" */
} prof_value_type;

/* Open-addressing hash index over one of the tables below (private).
 * Linear probing, load factor at most 1/2, so a lookup always meets an empty
 * slot.  hash[i] is the 32-bit hash of the entry in slots[i] (valid when
 * slots[i] != 0): probes compare it before touching the entry, and growth
 * rehashes without reading the entries. */
typedef struct {
    uint32_t *slots;     /* id + 1; 0 = empty */
    uint32_t *hash;      /* parallel to slots */
    uint32_t cap;        /* power of two, or 0 before the first insert */
} prof_index;

/* A field left 0 takes its default (1M strings, functions, locations, stacks
 * and label sets; 4M samples).  Caps count entries, string 0 included. */
typedef struct {
    size_t max_strings, max_functions, max_locations, max_stacks, max_samples;
    size_t max_label_sets;
} profile_limits;

typedef struct profile {
    /* strings: bytes are UTF-8, not NUL-terminated in spirit (len is exact) but
     * a NUL is stored after each for convenience. */
    char **str;
    uint32_t *str_len;
    uint32_t nstr, str_cap;
    prof_index str_idx;

    prof_function *fn;
    uint32_t nfn, fn_cap;
    prof_index fn_idx;

    prof_location *loc;
    uint32_t nloc, loc_cap;
    prof_index loc_idx;

    /* stack i: stack_data[stack_off[i] .. stack_off[i] + stack_len[i]) */
    uint32_t *stack_data;
    size_t stack_data_len, stack_data_cap;
    size_t *stack_off;
    uint32_t *stack_len;
    uint32_t nstack, stack_cap;
    prof_index stack_idx;

    /* label set i: label_data[ls_off[i] .. ls_off[i] + ls_len[i]) */
    prof_label *label_data;
    size_t label_data_len, label_data_cap;
    size_t *ls_off;
    uint32_t *ls_len;
    uint32_t nls, ls_cap;
    prof_index ls_idx;

    prof_sample *samples;
    uint32_t nsamples, samples_cap;
    prof_index sample_idx;

    int nvalues;
    prof_value_type vtypes[PROF_MAX_VALUES];
    int default_value;          /* index into vtypes of pprof's default type */

    /* metadata for pprof */
    prof_value_type period_type;
    int64_t period;             /* in period_type units */
    int64_t time_nanos;         /* wall-clock start, ns since the epoch */
    int64_t duration_nanos;
    uint32_t comments[PROF_MAX_COMMENTS];   /* string ids */
    int ncomments;

    profile_limits limits;
    uint64_t dropped_strings, dropped_stacks, dropped_samples;
    uint64_t dropped_functions, dropped_locations, dropped_label_sets;
} profile;

/* Status values: 0 success, negative failure. */
#define PROF_OK 0
#define PROF_ENOMEM (-1)
#define PROF_EFULL (-2)
#define PROF_EINVAL (-3)    /* an id out of range, or too many labels */

int profile_init(profile *p, const profile_limits *limits /* NULL: defaults */);
void profile_free(profile *p);
/* Forget every sample (and the stacks, strings... they used), keep value
 * types and metadata.  Strings named by value types, the period type and the
 * comments survive (renumbered 1..k; the fields that name them are updated),
 * string 0 stays "".  The dropped_* counters restart at 0.  Capacity is kept;
 * reset never allocates and cannot fail.  Every id handed out before the reset
 * (other than through those fields) is invalid after it. */
void profile_reset(profile *p);

/* Declare a value type; returns its index or a negative status. */
int profile_add_value_type(profile *p, const char *type, const char *unit);
/* When its strings cannot be interned the period type is left as ("", ""). */
void profile_set_period(profile *p, const char *type, const char *unit, int64_t period);
int profile_add_comment(profile *p, const char *text);

/* Interning: each returns the id through *out and PROF_OK, or a negative
 * status when memory or a cap runs out. */
int profile_intern_string(profile *p, const char *s, size_t len, uint32_t *out);
int profile_intern_function(profile *p, uint32_t name, uint32_t file,
                            int64_t start_line, uint32_t *out);
int profile_intern_location(profile *p, uint32_t function, int64_t line, uint32_t *out);
/* The location of a synthetic element named `name` (no file, line 0: a
 * "<N frames omitted>" element or a task marker), interned whole. */
int profile_intern_synthetic(profile *p, const char *name, size_t len, uint32_t *out);
/* locs is leaf first */
int profile_intern_stack(profile *p, const uint32_t *locs, size_t n, uint32_t *out);
/* labels need not be sorted; the set is stored in the given order but
 * compared as given (callers pass labels in a fixed order). */
int profile_intern_labels(profile *p, const prof_label *labels, size_t n, uint32_t *out);

/* Give functions fids[i] the name string names[i] (e.g. a qualified name
 * learnt later).  Batched: the function index is rebuilt once. */
int profile_rename_functions(profile *p, const uint32_t *fids, const uint32_t *names, size_t n);

/* Add values (nvalues of them) to the sample (stack, labels). */
int profile_add(profile *p, uint32_t stack, uint32_t labels, const int64_t *values);

/* Convenience accessors for exporters. */
static inline const char *profile_str(const profile *p, uint32_t id, size_t *len)
{
    if (len) *len = p->str_len[id];
    return p->str[id];
}
static inline const uint32_t *profile_stack(const profile *p, uint32_t id, size_t *n)
{
    *n = p->stack_len[id];
    return p->stack_data + p->stack_off[id];
}
static inline const prof_label *profile_labels(const profile *p, uint32_t id, size_t *n)
{
    *n = p->ls_len[id];
    return p->label_data + p->ls_off[id];
}

#endif
