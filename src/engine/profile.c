/* profile.c — interning tables and per-(stack, labels) accumulation.
 *
 * Every table is an append-only array plus a prof_index (open addressing,
 * linear probing, load factor <= 1/2, 32-bit hash kept beside each slot).
 * Insertion order is: look up; check the cap; grow the entry array; grow the
 * index; copy the entry's own data; append.  Each step that can fail leaves
 * only unused capacity behind, so on PROF_ENOMEM the profile is exactly what
 * it was before the call.  Looking up an entry that exists allocates nothing.
 */
#include "hash.h"
#include "profile.h"

#include <stdlib.h>
#include <string.h>

/* Largest cap honoured: index capacity stays within uint32_t at load 1/2. */
#define HARD_MAX ((size_t)1 << 30)

#define DEF_STRINGS   ((size_t)1 << 20)
#define DEF_FUNCTIONS ((size_t)1 << 20)
#define DEF_LOCATIONS ((size_t)1 << 20)
#define DEF_STACKS    ((size_t)1 << 20)
#define DEF_LABELSETS ((size_t)1 << 20)
#define DEF_SAMPLES   ((size_t)4 << 20)

/* ---- hashing ---------------------------------------------------------- */


static uint32_t hash_bytes(const void *data, size_t len)
{
    return (uint32_t)(strobe_hash_bytes(data, len) >> 32);
}

static inline uint32_t hash_pair(uint64_t a, uint64_t b)
{
    return (uint32_t)(strobe_mix64(a * 0x9e3779b97f4a7c15ULL ^ strobe_mix64(b + 0x632be59bd9b4e019ULL)) >> 32);
}

static inline uint32_t hash_function(uint32_t name, uint32_t file, int64_t start_line)
{
    return hash_pair(((uint64_t)name << 32) | file, (uint64_t)start_line);
}

static inline uint32_t hash_location(uint32_t function, int64_t line)
{
    return hash_pair(function, (uint64_t)line);
}

static inline uint32_t hash_sample(uint32_t stack, uint32_t labels)
{
    return hash_pair(((uint64_t)stack << 32) | labels, 0);
}

/* ---- the index -------------------------------------------------------- */

/* Slot where an entry with hash h should go, given `found`: the slot holding
 * the entry that `eq` accepts, else the first empty slot met. */
#define IX_PROBE(ix, h, eq_expr, out_pos, out_found) do {                  \
        uint32_t mask_ = (ix)->cap - 1, pos_ = (h) & mask_;                \
        (out_found) = 0;                                                   \
        for (;;) {                                                         \
            uint32_t s_ = (ix)->slots[pos_];                               \
            if (s_ == 0) break;                                            \
            if ((ix)->hash[pos_] == (h)) {                                 \
                uint32_t id = s_ - 1;                                      \
                if (eq_expr) { (out_found) = 1; break; }                   \
            }                                                              \
            pos_ = (pos_ + 1) & mask_;                                     \
        }                                                                  \
        (out_pos) = pos_;                                                  \
    } while (0)

static void ix_free(prof_index *ix)
{
    free(ix->slots);
    free(ix->hash);
    ix->slots = ix->hash = NULL;
    ix->cap = 0;
}

static void ix_clear(prof_index *ix)
{
    if (ix->cap)
        memset(ix->slots, 0, (size_t)ix->cap * sizeof *ix->slots);
}

static void ix_put(prof_index *ix, uint32_t h, uint32_t id)
{
    uint32_t mask = ix->cap - 1, pos = h & mask;
    while (ix->slots[pos])
        pos = (pos + 1) & mask;
    ix->slots[pos] = id + 1;
    ix->hash[pos] = h;
}

/* Make room for `n` entries at load <= 1/2. */
static int ix_reserve(prof_index *ix, size_t n)
{
    if (n <= (size_t)ix->cap / 2)
        return PROF_OK;
    size_t cap = ix->cap ? (size_t)ix->cap * 2 : 16;
    while (n > cap / 2)
        cap *= 2;
    if (cap > ((size_t)1 << 31))
        return PROF_EFULL;
    prof_index nx;
    nx.cap = (uint32_t)cap;
    nx.slots = calloc(cap, sizeof *nx.slots);
    nx.hash = malloc(cap * sizeof *nx.hash);
    if (!nx.slots || !nx.hash) {
        free(nx.slots);
        free(nx.hash);
        return PROF_ENOMEM;
    }
    for (uint32_t i = 0; i < ix->cap; i++)
        if (ix->slots[i])
            ix_put(&nx, ix->hash[i], ix->slots[i] - 1);
    ix_free(ix);
    *ix = nx;
    return PROF_OK;
}

/* Grow *arr (elements of `size` bytes) so that it holds at least `need`.
 * *arr is never left NULL: the accessors in profile.h add offsets to it even
 * when every stack or label set interned so far is empty. */
static int grow(void **arr, size_t size, size_t need, size_t cur, size_t *newcap)
{
    if (*arr && need <= cur) {
        *newcap = cur;
        return PROF_OK;
    }
    size_t cap = cur ? cur : 16;
    while (cap < need)
        cap *= 2;
    if (cap > SIZE_MAX / size)
        return PROF_ENOMEM;
    void *q = realloc(*arr, cap * size);
    if (!q)
        return PROF_ENOMEM;
    *arr = q;
    *newcap = cap;
    return PROF_OK;
}

/* Two parallel arrays of uint32-counted capacity `*cap`: the capacity is
 * raised only when both have grown. */
static int grow2(void **a, size_t asz, void **b, size_t bsz, uint32_t n, uint32_t *cap)
{
    if (n < *cap)
        return PROF_OK;
    size_t ca, cb;
    if (grow(a, asz, (size_t)n + 1, *cap, &ca) || grow(b, bsz, (size_t)n + 1, *cap, &cb))
        return PROF_ENOMEM;
    *cap = (uint32_t)(ca < cb ? ca : cb);
    return PROF_OK;
}

static size_t limit_or(size_t v, size_t def)
{
    if (v == 0)
        v = def;
    return v > HARD_MAX ? HARD_MAX : v;
}

/* ---- life cycle ------------------------------------------------------- */

int profile_init(profile *p, const profile_limits *limits)
{
    profile_limits l = {0};
    if (limits)
        l = *limits;
    memset(p, 0, sizeof *p);
    p->limits.max_strings = limit_or(l.max_strings, DEF_STRINGS);
    p->limits.max_functions = limit_or(l.max_functions, DEF_FUNCTIONS);
    p->limits.max_locations = limit_or(l.max_locations, DEF_LOCATIONS);
    p->limits.max_stacks = limit_or(l.max_stacks, DEF_STACKS);
    p->limits.max_label_sets = limit_or(l.max_label_sets, DEF_LABELSETS);
    p->limits.max_samples = limit_or(l.max_samples, DEF_SAMPLES);
    uint32_t id;
    int rc = profile_intern_string(p, "", 0, &id);
    if (rc != PROF_OK) {
        profile_free(p);
        return rc == PROF_EFULL ? PROF_ENOMEM : rc;
    }
    return PROF_OK;
}

void profile_free(profile *p)
{
    for (uint32_t i = 0; i < p->nstr; i++)
        free(p->str[i]);
    free(p->str);
    free(p->str_len);
    ix_free(&p->str_idx);
    free(p->fn);
    ix_free(&p->fn_idx);
    free(p->loc);
    ix_free(&p->loc_idx);
    free(p->stack_data);
    free(p->stack_off);
    free(p->stack_len);
    ix_free(&p->stack_idx);
    free(p->label_data);
    free(p->ls_off);
    free(p->ls_len);
    ix_free(&p->ls_idx);
    free(p->samples);
    ix_free(&p->sample_idx);
    memset(p, 0, sizeof *p);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* New id of kept string `old` (kept[] sorted, distinct): its rank + 1. */
static uint32_t renumber(const uint32_t *kept, size_t nkept, uint32_t old)
{
    if (old == 0)
        return 0;
    size_t lo = 0, hi = nkept;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (kept[mid] < old)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)lo + 1;
}

void profile_reset(profile *p)
{
    /* Strings that metadata names: sorted, distinct, none of them 0. */
    uint32_t kept[2 * PROF_MAX_VALUES + 2 + PROF_MAX_COMMENTS];
    size_t nkept = 0;
    for (int i = 0; i < p->nvalues; i++) {
        kept[nkept++] = p->vtypes[i].type;
        kept[nkept++] = p->vtypes[i].unit;
    }
    kept[nkept++] = p->period_type.type;
    kept[nkept++] = p->period_type.unit;
    for (int i = 0; i < p->ncomments; i++)
        kept[nkept++] = p->comments[i];
    qsort(kept, nkept, sizeof kept[0], cmp_u32);
    size_t k = 0;
    for (size_t i = 0; i < nkept; i++)
        if (kept[i] != 0 && (k == 0 || kept[k - 1] != kept[i]))
            kept[k++] = kept[i];
    nkept = k;

    /* Free the rest, then slide the kept ones down to 1..nkept: kept[j] >= j+1
     * and later sources are all > kept[j], so no source is overwritten. */
    size_t j = 0;
    for (uint32_t id = 1; id < p->nstr; id++) {
        if (j < nkept && kept[j] == id) {
            j++;
            continue;
        }
        free(p->str[id]);
        p->str[id] = NULL;
    }
    for (j = 0; j < nkept; j++) {
        p->str[j + 1] = p->str[kept[j]];
        p->str_len[j + 1] = p->str_len[kept[j]];
    }
    p->nstr = (uint32_t)nkept + 1;
    ix_clear(&p->str_idx);
    for (uint32_t id = 0; id < p->nstr; id++)
        ix_put(&p->str_idx, hash_bytes(p->str[id], p->str_len[id]), id);

    for (int i = 0; i < p->nvalues; i++) {
        p->vtypes[i].type = renumber(kept, nkept, p->vtypes[i].type);
        p->vtypes[i].unit = renumber(kept, nkept, p->vtypes[i].unit);
    }
    p->period_type.type = renumber(kept, nkept, p->period_type.type);
    p->period_type.unit = renumber(kept, nkept, p->period_type.unit);
    for (int i = 0; i < p->ncomments; i++)
        p->comments[i] = renumber(kept, nkept, p->comments[i]);

    p->nfn = 0;
    ix_clear(&p->fn_idx);
    p->nloc = 0;
    ix_clear(&p->loc_idx);
    p->nstack = 0;
    p->stack_data_len = 0;
    ix_clear(&p->stack_idx);
    p->nls = 0;
    p->label_data_len = 0;
    ix_clear(&p->ls_idx);
    p->nsamples = 0;
    ix_clear(&p->sample_idx);
    p->dropped_strings = p->dropped_stacks = p->dropped_samples = 0;
    p->dropped_functions = p->dropped_locations = p->dropped_label_sets = 0;
}

/* ---- metadata --------------------------------------------------------- */

int profile_add_value_type(profile *p, const char *type, const char *unit)
{
    if (p->nvalues >= PROF_MAX_VALUES)
        return PROF_EFULL;
    uint32_t t, u;
    int rc = profile_intern_string(p, type, strlen(type), &t);
    if (rc == PROF_OK)
        rc = profile_intern_string(p, unit, strlen(unit), &u);
    if (rc != PROF_OK)
        return rc;
    p->vtypes[p->nvalues].type = t;
    p->vtypes[p->nvalues].unit = u;
    return p->nvalues++;
}

void profile_set_period(profile *p, const char *type, const char *unit, int64_t period)
{
    uint32_t t, u;
    p->period = period;
    if (profile_intern_string(p, type, strlen(type), &t) == PROF_OK &&
        profile_intern_string(p, unit, strlen(unit), &u) == PROF_OK) {
        p->period_type.type = t;
        p->period_type.unit = u;
    } else {
        p->period_type.type = p->period_type.unit = 0;
    }
}

int profile_add_comment(profile *p, const char *text)
{
    if (p->ncomments >= PROF_MAX_COMMENTS)
        return PROF_EFULL;
    uint32_t id;
    int rc = profile_intern_string(p, text, strlen(text), &id);
    if (rc != PROF_OK)
        return rc;
    p->comments[p->ncomments++] = id;
    return PROF_OK;
}

/* ---- interning -------------------------------------------------------- */

int profile_intern_string(profile *p, const char *s, size_t len, uint32_t *out)
{
    if (len > UINT32_MAX - 1)
        return PROF_EINVAL;
    uint32_t h = hash_bytes(s, len), pos;
    int found = 0;
    if (p->str_idx.cap) {
        IX_PROBE(&p->str_idx, h,
                 p->str_len[id] == len && (len == 0 || memcmp(p->str[id], s, len) == 0),
                 pos, found);
        if (found) {
            *out = p->str_idx.slots[pos] - 1;
            return PROF_OK;
        }
    }
    if (p->nstr >= p->limits.max_strings) {
        p->dropped_strings++;
        return PROF_EFULL;
    }
    if (grow2((void **)&p->str, sizeof *p->str, (void **)&p->str_len, sizeof *p->str_len,
              p->nstr, &p->str_cap))
        return PROF_ENOMEM;
    int rc = ix_reserve(&p->str_idx, (size_t)p->nstr + 1);
    if (rc)
        return rc;
    char *copy = malloc(len + 1);
    if (!copy)
        return PROF_ENOMEM;
    if (len)
        memcpy(copy, s, len);
    copy[len] = '\0';
    uint32_t id = p->nstr++;
    p->str[id] = copy;
    p->str_len[id] = (uint32_t)len;
    ix_put(&p->str_idx, h, id);
    *out = id;
    return PROF_OK;
}

int profile_intern_function(profile *p, uint32_t name, uint32_t file,
                            int64_t start_line, uint32_t *out)
{
    if (name >= p->nstr || file >= p->nstr)
        return PROF_EINVAL;
    uint32_t h = hash_function(name, file, start_line), pos;
    int found = 0;
    if (p->fn_idx.cap) {
        IX_PROBE(&p->fn_idx, h,
                 p->fn[id].name == name && p->fn[id].file == file &&
                 p->fn[id].start_line == start_line, pos, found);
        if (found) {
            *out = p->fn_idx.slots[pos] - 1;
            return PROF_OK;
        }
    }
    if (p->nfn >= p->limits.max_functions) {
        p->dropped_functions++;
        return PROF_EFULL;
    }
    size_t cap;
    if (grow((void **)&p->fn, sizeof *p->fn, (size_t)p->nfn + 1, p->fn_cap, &cap))
        return PROF_ENOMEM;
    p->fn_cap = (uint32_t)cap;
    int rc = ix_reserve(&p->fn_idx, (size_t)p->nfn + 1);
    if (rc)
        return rc;
    uint32_t id = p->nfn++;
    p->fn[id].name = name;
    p->fn[id].file = file;
    p->fn[id].start_line = start_line;
    ix_put(&p->fn_idx, h, id);
    *out = id;
    return PROF_OK;
}

int profile_rename_functions(profile *p, const uint32_t *fids, const uint32_t *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fids[i] >= p->nfn || names[i] >= p->nstr)
            return PROF_EINVAL;
    for (size_t i = 0; i < n; i++)
        p->fn[fids[i]].name = names[i];
    /* The index is keyed by name: rebuild it (renames are rare and batched). */
    ix_clear(&p->fn_idx);
    for (uint32_t id = 0; id < p->nfn; id++)
        ix_put(&p->fn_idx, hash_function(p->fn[id].name, p->fn[id].file, p->fn[id].start_line), id);
    return PROF_OK;
}

int profile_intern_location(profile *p, uint32_t function, int64_t line, uint32_t *out)
{
    if (function >= p->nfn)
        return PROF_EINVAL;
    uint32_t h = hash_location(function, line), pos;
    int found = 0;
    if (p->loc_idx.cap) {
        IX_PROBE(&p->loc_idx, h,
                 p->loc[id].function == function && p->loc[id].line == line, pos, found);
        if (found) {
            *out = p->loc_idx.slots[pos] - 1;
            return PROF_OK;
        }
    }
    if (p->nloc >= p->limits.max_locations) {
        p->dropped_locations++;
        return PROF_EFULL;
    }
    size_t cap;
    if (grow((void **)&p->loc, sizeof *p->loc, (size_t)p->nloc + 1, p->loc_cap, &cap))
        return PROF_ENOMEM;
    p->loc_cap = (uint32_t)cap;
    int rc = ix_reserve(&p->loc_idx, (size_t)p->nloc + 1);
    if (rc)
        return rc;
    uint32_t id = p->nloc++;
    p->loc[id].function = function;
    p->loc[id].line = line;
    ix_put(&p->loc_idx, h, id);
    *out = id;
    return PROF_OK;
}

int profile_intern_synthetic(profile *p, const char *name, size_t len, uint32_t *out)
{
    uint32_t sid, fid;
    int rc = profile_intern_string(p, name, len, &sid);
    if (rc == PROF_OK) rc = profile_intern_function(p, sid, 0, 0, &fid);
    if (rc == PROF_OK) rc = profile_intern_location(p, fid, 0, out);
    return rc;
}

int profile_intern_stack(profile *p, const uint32_t *locs, size_t n, uint32_t *out)
{
    if (n > UINT32_MAX)
        return PROF_EINVAL;
    size_t bytes = n * sizeof *locs;
    uint32_t h = hash_bytes(locs, bytes), pos;
    int found = 0;
    if (p->stack_idx.cap) {
        IX_PROBE(&p->stack_idx, h,
                 p->stack_len[id] == n &&
                 (n == 0 || memcmp(p->stack_data + p->stack_off[id], locs, bytes) == 0),
                 pos, found);
        if (found) {
            *out = p->stack_idx.slots[pos] - 1;
            return PROF_OK;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (locs[i] >= p->nloc)
            return PROF_EINVAL;
    if (p->nstack >= p->limits.max_stacks) {
        p->dropped_stacks++;
        return PROF_EFULL;
    }
    if (grow2((void **)&p->stack_off, sizeof *p->stack_off,
              (void **)&p->stack_len, sizeof *p->stack_len, p->nstack, &p->stack_cap))
        return PROF_ENOMEM;
    int rc = ix_reserve(&p->stack_idx, (size_t)p->nstack + 1);
    if (rc)
        return rc;
    size_t cap;
    if (grow((void **)&p->stack_data, sizeof *p->stack_data, p->stack_data_len + n,
             p->stack_data_cap, &cap))
        return PROF_ENOMEM;
    p->stack_data_cap = cap;
    uint32_t id = p->nstack++;
    if (n)
        memcpy(p->stack_data + p->stack_data_len, locs, bytes);
    p->stack_off[id] = p->stack_data_len;
    p->stack_len[id] = (uint32_t)n;
    p->stack_data_len += n;
    ix_put(&p->stack_idx, h, id);
    *out = id;
    return PROF_OK;
}

int profile_intern_labels(profile *p, const prof_label *labels, size_t n, uint32_t *out)
{
    if (n > PROF_MAX_LABELS)
        return PROF_EINVAL;
    size_t bytes = n * sizeof *labels;
    uint32_t h = hash_bytes(labels, bytes), pos;
    int found = 0;
    if (p->ls_idx.cap) {
        IX_PROBE(&p->ls_idx, h,
                 p->ls_len[id] == n &&
                 (n == 0 || memcmp(p->label_data + p->ls_off[id], labels, bytes) == 0),
                 pos, found);
        if (found) {
            *out = p->ls_idx.slots[pos] - 1;
            return PROF_OK;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (labels[i].key >= p->nstr || labels[i].str >= p->nstr)
            return PROF_EINVAL;
    if (p->nls >= p->limits.max_label_sets) {
        p->dropped_label_sets++;
        return PROF_EFULL;
    }
    if (grow2((void **)&p->ls_off, sizeof *p->ls_off,
              (void **)&p->ls_len, sizeof *p->ls_len, p->nls, &p->ls_cap))
        return PROF_ENOMEM;
    int rc = ix_reserve(&p->ls_idx, (size_t)p->nls + 1);
    if (rc)
        return rc;
    size_t cap;
    if (grow((void **)&p->label_data, sizeof *p->label_data, p->label_data_len + n,
             p->label_data_cap, &cap))
        return PROF_ENOMEM;
    p->label_data_cap = cap;
    uint32_t id = p->nls++;
    if (n)
        memcpy(p->label_data + p->label_data_len, labels, bytes);
    p->ls_off[id] = p->label_data_len;
    p->ls_len[id] = (uint32_t)n;
    p->label_data_len += n;
    ix_put(&p->ls_idx, h, id);
    *out = id;
    return PROF_OK;
}

/* ---- accumulation ----------------------------------------------------- */

/* Sums wrap instead of overflowing (no undefined behaviour on absurd input). */
static inline int64_t add_wrap(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

int profile_add(profile *p, uint32_t stack, uint32_t labels, const int64_t *values)
{
    if (stack >= p->nstack || labels >= p->nls)
        return PROF_EINVAL;
    uint32_t h = hash_sample(stack, labels), pos;
    int found = 0;
    if (p->sample_idx.cap) {
        IX_PROBE(&p->sample_idx, h,
                 p->samples[id].stack == stack && p->samples[id].labels == labels, pos, found);
        if (found) {
            prof_sample *s = &p->samples[p->sample_idx.slots[pos] - 1];
            for (int i = 0; i < p->nvalues; i++)
                s->values[i] = add_wrap(s->values[i], values[i]);
            return PROF_OK;
        }
    }
    if (p->nsamples >= p->limits.max_samples) {
        p->dropped_samples++;
        return PROF_EFULL;
    }
    size_t cap;
    if (grow((void **)&p->samples, sizeof *p->samples, (size_t)p->nsamples + 1,
             p->samples_cap, &cap))
        return PROF_ENOMEM;
    p->samples_cap = (uint32_t)cap;
    int rc = ix_reserve(&p->sample_idx, (size_t)p->nsamples + 1);
    if (rc)
        return rc;
    uint32_t id = p->nsamples++;
    prof_sample *s = &p->samples[id];
    memset(s, 0, sizeof *s);
    s->stack = stack;
    s->labels = labels;
    for (int i = 0; i < p->nvalues; i++)
        s->values[i] = values[i];
    ix_put(&p->sample_idx, h, id);
    return PROF_OK;
}
