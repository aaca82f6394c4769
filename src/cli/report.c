/* report.c — `strobe report [--format text|json] FILE`.
 *
 * Reads a pprof profile (pprof_read.c) and sums, per thread, the samples that
 * are the thread's own time: those without a `task state` label and those of
 * a running asyncio task (which stand in for their thread's sample for that
 * tick).  Threads are told apart by (`thread native id`, `thread name`),
 * compared as strings, so a profile whose string table repeats a string
 * still groups correctly.  Samples of suspended tasks (`task state` =
 * `suspended`) are summed apart, per the loop thread whose labels they carry.
 *
 * Values are converted to nanoseconds (units nanoseconds, microseconds,
 * milliseconds, seconds) and summed with saturation: a corrupt or foreign
 * profile can hold any int64.
 *
 * Output goes through stdio; a reader that goes away (`| head`) ends the
 * command quietly. */
#include "report.h"

#include "hash.h"
#include "pprof_read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char report_usage[] =
    "usage: strobe report [--format text|json] FILE\n"
    "\n"
    "Where each thread's time went, from a pprof profile written by strobe record:\n"
    "wall, CPU and off-CPU seconds per thread, off-CPU time by cause (sleep, lock,\n"
    "io, gil, other), and how long suspended asyncio tasks waited, per loop thread.\n"
    "\n"
    "options:\n"
    "  -f, --format FMT   text (default) or json\n"
    "  -h, --help         show this help\n"
    "\n"
    "FILE may be - (standard input); gzip'd and plain protobuf are both read.\n";

#define NONE UINT32_MAX
#define NAME_MAX_COLS 32        /* thread names wider than this are cut with an ellipsis */

enum { C_SLEEP, C_LOCK, C_IO, C_GIL, C_OTHER, C_UNKNOWN, NCAUSE };
static const char *const cause_name[NCAUSE] = {"sleep", "lock", "io", "gil", "other", "unknown"};

/* What a string is, when it matters (one kind per content). */
enum {
    S_PLAIN = 0,
    S_KEY_NATIVE, S_KEY_NAME, S_KEY_STATE, S_KEY_CAUSE, S_KEY_TASK_ID, S_KEY_TASK_NAME,
    S_RUNNING, S_SUSPENDED,
    S_CAUSE0,           /* S_CAUSE0 + C_SLEEP ... C_OTHER */
};

typedef struct {
    uint32_t native, name;      /* canonical string ids, NONE when absent */
    int64_t samples, wall, cpu, off;
    int64_t cause[NCAUSE];
    int64_t ntasks;             /* task rows: distinct task ids */
} row;

typedef struct {
    row *r;
    size_t n, cap;
} rowvec;

/* Open addressing, keys never 0. */
typedef struct {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n;
} u64map;

typedef struct {
    const pprof_profile *p;
    uint32_t *canon;            /* string id -> first id with the same bytes */
    uint8_t *kind;              /* string id -> S_* */
    int i_count, i_wall, i_cpu, i_off;
    int64_t scale_wall, scale_cpu, scale_off;   /* to nanoseconds */
    rowvec threads, tasks;
    u64map thread_idx, task_idx, task_ids;
    int64_t total_samples;
    int64_t task_samples;       /* suspended-task samples */
    size_t odd_state;           /* samples with a task state we do not know */
    size_t stateless_tasks;     /* task samples without a task state */
    int any_state;
    int any_unknown_cause;      /* a thread row has off-CPU time without a cause */
    int any_task_unknown_cause;
} report;

/* ---- small helpers --------------------------------------------------------- */

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
    return r;
}

static int64_t unit_scale(const pprof_profile *p, uint32_t unit)
{
    if (pprof_str_is(p, unit, "nanoseconds") || pprof_str_is(p, unit, "ns"))
        return 1;
    if (pprof_str_is(p, unit, "microseconds") || pprof_str_is(p, unit, "us"))
        return 1000;
    if (pprof_str_is(p, unit, "milliseconds") || pprof_str_is(p, unit, "ms"))
        return 1000000;
    if (pprof_str_is(p, unit, "seconds") || pprof_str_is(p, unit, "s"))
        return 1000000000;
    return 0;
}

static int map_put(u64map *m, uint64_t key, uint32_t val, uint32_t *got)
{
    if (m->n * 2 >= m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        uint64_t *nk = calloc(ncap, sizeof *nk);
        uint32_t *nv = calloc(ncap, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = strobe_mix64(m->keys[i]) & (ncap - 1);
            while (nk[j])
                j = (j + 1) & (ncap - 1);
            nk[j] = m->keys[i];
            nv[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
    }
    size_t j = strobe_mix64(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->keys[j] == key) {
            *got = m->vals[j];
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = key;
    m->vals[j] = val;
    m->n++;
    *got = val;
    return 1;
}

static void map_free(u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* The row for (native, name) in v, added when new; NULL when out of memory.
 * Ids are canonical label ids (never 0) or NONE. */
static row *row_for(rowvec *v, u64map *idx, uint32_t native, uint32_t name)
{
    /* NONE packs as 0, so the key is never all ones and its complement never 0 */
    uint64_t key = ~((uint64_t)(native == NONE ? 0 : native) << 32 | (name == NONE ? 0 : name));
    uint32_t at;
    int rc = map_put(idx, key, (uint32_t)v->n, &at);
    if (rc < 0)
        return NULL;
    if (rc == 1) {
        if (v->n == v->cap) {
            size_t ncap = v->cap ? v->cap * 2 : 16;
            row *nr = realloc(v->r, ncap * sizeof *nr);
            if (!nr)
                return NULL;
            v->r = nr;
            v->cap = ncap;
        }
        memset(&v->r[v->n], 0, sizeof v->r[v->n]);
        v->r[v->n].native = native;
        v->r[v->n].name = name;
        v->n++;
    }
    return &v->r[at];
}

/* canon[i]: the first string id whose bytes equal string i's. */
static uint32_t *canon_strings(const pprof_profile *p)
{
    size_t cap = 16;
    while (cap < p->nstr * 2)
        cap *= 2;
    uint32_t *slots = calloc(cap, sizeof *slots);
    uint32_t *canon = malloc((p->nstr ? p->nstr : 1) * sizeof *canon);
    if (!slots || !canon) {
        free(slots);
        free(canon);
        return NULL;
    }
    for (size_t id = 0; id < p->nstr; id++) {
        size_t len;
        const char *s = pprof_str(p, (uint32_t)id, &len);
        size_t j = strobe_hash_bytes(s, len) & (cap - 1);
        canon[id] = (uint32_t)id;
        while (slots[j]) {
            uint32_t other = slots[j] - 1;
            size_t olen;
            const char *o = pprof_str(p, other, &olen);
            if (olen == len && memcmp(o, s, len) == 0) {
                canon[id] = other;
                break;
            }
            j = (j + 1) & (cap - 1);
        }
        if (canon[id] == id)
            slots[j] = (uint32_t)id + 1;
    }
    free(slots);
    return canon;
}

static uint8_t *classify_strings(const pprof_profile *p)
{
    static const struct {
        const char *s;
        uint8_t kind;
    } known[] = {
        {"thread native id", S_KEY_NATIVE}, {"thread name", S_KEY_NAME},
        {"task state", S_KEY_STATE},        {"off cpu cause", S_KEY_CAUSE},
        {"task id", S_KEY_TASK_ID},         {"task name", S_KEY_TASK_NAME},
        {"running", S_RUNNING},             {"suspended", S_SUSPENDED},
        {"sleep", S_CAUSE0 + C_SLEEP},      {"lock", S_CAUSE0 + C_LOCK},
        {"io", S_CAUSE0 + C_IO},            {"gil", S_CAUSE0 + C_GIL},
        {"other", S_CAUSE0 + C_OTHER},
    };
    uint8_t *kind = calloc(p->nstr ? p->nstr : 1, 1);
    if (!kind)
        return NULL;
    for (size_t id = 0; id < p->nstr; id++) {
        size_t len;
        const char *s = pprof_str(p, (uint32_t)id, &len);
        if (len > 16)
            continue;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strlen(known[k].s) == len && memcmp(known[k].s, s, len) == 0)
                kind[id] = known[k].kind;
    }
    return kind;
}

static int value_index(const pprof_profile *p, const char *type, int64_t *scale)
{
    int i = pprof_sample_type_index(p, type);
    *scale = i >= 0 ? unit_scale(p, p->sample_type[i].unit) : 0;
    return i >= 0 && *scale ? i : -1;
}

/* ---- the sums ------------------------------------------------------------------ */

/* A label value's canonical id; an empty value counts as no label (NONE). */
static uint32_t label_id(const report *r, uint32_t str)
{
    uint32_t c = r->canon[str];
    return c == 0 ? NONE : c;
}

static int analyse(report *r, const pprof_profile *p, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->canon = canon_strings(p);
    r->kind = classify_strings(p);
    if (!r->canon || !r->kind) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->i_count = pprof_sample_type_index(p, "samples");
    r->i_wall = value_index(p, "wall-time", &r->scale_wall);
    r->i_cpu = value_index(p, "cpu-time", &r->scale_cpu);
    r->i_off = value_index(p, "off-cpu-time", &r->scale_off);

    for (size_t i = 0; i < p->nsamples; i++) {
        size_t nl;
        const pprof_label *lb = pprof_sample_labels(p, i, &nl);
        uint32_t native = NONE, name = NONE, task = NONE, task_name = NONE;
        int state = 0, cause = -1, tasky = 0;
        for (size_t k = 0; k < nl; k++) {
            uint8_t kk = r->kind[lb[k].key], kv = r->kind[lb[k].str];
            switch (kk) {
            case S_KEY_NATIVE:
                native = label_id(r, lb[k].str);
                break;
            case S_KEY_NAME:
                name = label_id(r, lb[k].str);
                break;
            case S_KEY_STATE:
                state = kv == S_RUNNING || kv == S_SUSPENDED ? kv : -1;
                r->any_state = 1;
                break;
            case S_KEY_CAUSE:
                cause = kv >= S_CAUSE0 && kv < S_CAUSE0 + C_UNKNOWN ? kv - S_CAUSE0 : C_UNKNOWN;
                break;
            case S_KEY_TASK_ID:
                task = label_id(r, lb[k].str);
                tasky = 1;
                break;
            case S_KEY_TASK_NAME:
                task_name = label_id(r, lb[k].str);
                tasky = 1;
                break;
            }
        }
        const int64_t *v = pprof_sample_values(p, i);
        int64_t count = r->i_count >= 0 ? v[r->i_count] : 1;
        int64_t wall = r->i_wall >= 0 ? sat_mul(v[r->i_wall], r->scale_wall) : 0;
        int64_t cpu = r->i_cpu >= 0 ? sat_mul(v[r->i_cpu], r->scale_cpu) : 0;
        int64_t off = r->i_off >= 0 ? sat_mul(v[r->i_off], r->scale_off) : 0;
        r->total_samples = sat_add(r->total_samples, count);
        if (state < 0) {
            r->odd_state++;
            continue;
        }
        if (tasky && state == 0)
            r->stateless_tasks++;
        int c = cause >= 0 ? cause : C_UNKNOWN;
        if (state == S_SUSPENDED) {
            row *t = row_for(&r->tasks, &r->task_idx, native, name);
            if (!t)
                goto nomem;
            int64_t wait = r->i_off >= 0 ? off : wall;
            t->samples = sat_add(t->samples, count);
            t->wall = sat_add(t->wall, wall);
            t->off = sat_add(t->off, wait);
            t->cause[c] = sat_add(t->cause[c], wait);
            if (c == C_UNKNOWN && wait)
                r->any_task_unknown_cause = 1;
            r->task_samples = sat_add(r->task_samples, count);
            uint32_t id = task != NONE ? task : task_name;
            if (id != NONE) {
                uint64_t key = ((uint64_t)(t - r->tasks.r) + 1) << 32 | id;
                uint32_t dummy;
                int rc = map_put(&r->task_ids, key, 0, &dummy);
                if (rc < 0)
                    goto nomem;
                t->ntasks += rc;
            }
            continue;
        }
        row *t = row_for(&r->threads, &r->thread_idx, native, name);
        if (!t)
            goto nomem;
        t->samples = sat_add(t->samples, count);
        t->wall = sat_add(t->wall, wall);
        t->cpu = sat_add(t->cpu, cpu);
        t->off = sat_add(t->off, off);
        t->cause[c] = sat_add(t->cause[c], off);
        if (c == C_UNKNOWN && off)
            r->any_unknown_cause = 1;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory (%zu samples)", p->nsamples);
    return -1;
}

static void report_free(report *r)
{
    free(r->canon);
    free(r->kind);
    free(r->threads.r);
    free(r->tasks.r);
    map_free(&r->thread_idx);
    map_free(&r->task_idx);
    map_free(&r->task_ids);
}

/* Sorting: by wall (by CPU when there is no wall), then samples, then name,
 * then native id as a number. */
static const report *sort_ctx;
static int sort_by_wait;        /* task rows: by waiting time */

static int cmp_str(uint32_t a, uint32_t b)
{
    if (a == b)
        return 0;
    if (a == NONE || b == NONE)
        return a == NONE ? 1 : -1;
    size_t la, lb;
    const char *sa = pprof_str(sort_ctx->p, a, &la), *sb = pprof_str(sort_ctx->p, b, &lb);
    int c = memcmp(sa, sb, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

static int cmp_rows(const void *x, const void *y)
{
    const row *a = x, *b = y;
    int by_wall = sort_ctx->i_wall >= 0 && !sort_by_wait;
    int64_t ka = by_wall ? a->wall : sort_by_wait ? a->off : a->cpu;
    int64_t kb = by_wall ? b->wall : sort_by_wait ? b->off : b->cpu;
    if (ka != kb)
        return ka > kb ? -1 : 1;
    if (a->off != b->off)
        return a->off > b->off ? -1 : 1;
    if (a->samples != b->samples)
        return a->samples > b->samples ? -1 : 1;
    int c = cmp_str(a->name, b->name);
    if (c)
        return c;
    if (a->native != NONE && b->native != NONE) {
        long long na = strtoll(pprof_str(sort_ctx->p, a->native, NULL), NULL, 10);
        long long nb = strtoll(pprof_str(sort_ctx->p, b->native, NULL), NULL, 10);
        if (na != nb)
            return na < nb ? -1 : 1;
    }
    return cmp_str(a->native, b->native);
}

/* ---- text ------------------------------------------------------------------------ */

/* One code point of s[0..len) (len > 0): bytes used; *cp is U+FFFD for an
 * invalid sequence (which uses one byte). */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    if (len < n) {
        *cp = 0xfffd;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        *cp = 0xfffd;
        return 1;
    }
    *cp = v;
    return n;
}

/* Terminal columns of a code point (a small wcwidth: combining marks 0, East
 * Asian wide and emoji 2). */
static int cp_width(uint32_t cp)
{
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
        (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x200b && cp <= 0x200f) ||
        (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe00 && cp <= 0xfe0f) ||
        (cp >= 0xfe20 && cp <= 0xfe2f))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
        (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
        (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
        (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
        (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd))
        return 2;
    return 1;
}

/* Characters a table cell must not print: C0 and C1 controls, line and
 * paragraph separators, and the bidirectional controls that would reorder
 * the rest of the line. */
static int unsafe_cp(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* s made safe for a terminal (unsafe characters '?', invalid UTF-8 U+FFFD)
 * and cut to at most maxw columns, the cut marked with an ellipsis.  Returns
 * the columns used. */
static size_t term_text(const char *s, size_t len, size_t maxw, char *out, size_t outsz)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t total = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += utf8_next(u + i, len - i, &cp);
        total += unsafe_cp(cp) ? 1 : (size_t)cp_width(cp);
    }
    size_t budget = total > maxw ? (maxw ? maxw - 1 : 0) : maxw, used = 0, o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_next(u + i, len - i, &cp);
        int w = unsafe_cp(cp) ? 1 : cp_width(cp);
        if (used + (size_t)w > budget)
            break;
        const char *put = s + i;
        size_t plen = n;
        if (unsafe_cp(cp)) {
            put = "?";
            plen = 1;
        } else if (cp == 0xfffd) {
            put = "\xef\xbf\xbd";
            plen = 3;
        }
        if (o + plen + 4 > outsz)
            break;
        memcpy(out + o, put, plen);
        o += plen;
        used += (size_t)w;
        i += n;
    }
    if (total > maxw && maxw && o + 4 <= outsz) {
        memcpy(out + o, "\xe2\x80\xa6", 3);
        o += 3;
        used++;
    }
    out[o] = 0;
    return used;
}

static void fmt_secs(char *buf, size_t n, int64_t ns)
{
    if (ns == 0)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.3f", (double)ns / 1e9);
}

/* The columns of the two tables. */
enum {
    COL_NAME, COL_TID, COL_TASKS, COL_WALL, COL_CPU, COL_OFF, COL_PCT, COL_WAIT,
    COL_CAUSE0,     /* + cause */
    NCOL = COL_CAUSE0 + NCAUSE,
};
static const char *const col_head[COL_CAUSE0] = {"thread", "tid", "tasks", "wall", "cpu", "off-cpu",
                                                 "off%", "wait"};

typedef struct {
    int cols[NCOL];
    int ncols;
    size_t width[NCOL];
} table;

/* The text of one cell; *w its width in columns.  A row pointer of NULL is
 * the total row (given as `tot`). */
static void cell(const report *r, const row *t, int is_total, int col, char *buf, size_t n, size_t *w)
{
    const pprof_profile *p = r->p;
    buf[0] = 0;
    switch (col) {
    case COL_NAME:
        if (is_total) {
            snprintf(buf, n, "total");
        } else if (t->name == NONE && t->native == NONE) {
            snprintf(buf, n, "(no thread label)");
        } else if (t->name == NONE) {
            snprintf(buf, n, "?");
        } else {
            size_t len;
            const char *s = pprof_str(p, t->name, &len);
            *w = term_text(s, len, NAME_MAX_COLS, buf, n);
            return;
        }
        break;
    case COL_TID:
        if (!is_total && t->native != NONE) {
            size_t len;
            const char *s = pprof_str(p, t->native, &len);
            *w = term_text(s, len, 20, buf, n);
            return;
        }
        break;
    case COL_TASKS:
        snprintf(buf, n, "%" PRId64, t->ntasks);
        break;
    case COL_WALL:
        fmt_secs(buf, n, t->wall);
        break;
    case COL_CPU:
        fmt_secs(buf, n, t->cpu);
        break;
    case COL_OFF:
    case COL_WAIT:
        fmt_secs(buf, n, t->off);
        break;
    case COL_PCT:
        if (t->wall > 0)
            snprintf(buf, n, "%.1f%%", 100.0 * (double)t->off / (double)t->wall);
        else
            snprintf(buf, n, "-");
        break;
    default:
        fmt_secs(buf, n, t->cause[col - COL_CAUSE0]);
        break;
    }
    *w = strlen(buf);
}

static void print_table(const report *r, const table *tb, const rowvec *rows, const row *total, FILE *f)
{
    char buf[256];
    size_t w;
    table t = *tb;
    for (int c = 0; c < t.ncols; c++) {
        const char *h = t.cols[c] >= COL_CAUSE0 ? cause_name[t.cols[c] - COL_CAUSE0] : col_head[t.cols[c]];
        t.width[c] = strlen(h);
        if (t.cols[c] == COL_NAME && t.width[c] < 17)
            t.width[c] = 17;    /* "(no thread label)" and "total" line up */
    }
    for (size_t i = 0; i <= rows->n; i++) {
        const row *x = i < rows->n ? &rows->r[i] : total;
        if (!x)
            continue;
        for (int c = 0; c < t.ncols; c++) {
            cell(r, x, i == rows->n, t.cols[c], buf, sizeof buf, &w);
            if (w > t.width[c])
                t.width[c] = w;
        }
    }
    size_t line = 0;
    for (int c = 0; c < t.ncols; c++) {
        const char *h = t.cols[c] >= COL_CAUSE0 ? cause_name[t.cols[c] - COL_CAUSE0] : col_head[t.cols[c]];
        size_t pad = t.width[c] - strlen(h);
        if (t.cols[c] == COL_NAME)
            fprintf(f, "%s%*s", h, (int)pad, "");
        else
            fprintf(f, "  %*s%s", (int)pad, "", h);
        line += t.width[c] + (c ? 2 : 0);
    }
    fputc('\n', f);
    for (size_t i = 0; i <= rows->n; i++) {
        const row *x = i < rows->n ? &rows->r[i] : total;
        if (!x)
            continue;
        if (i == rows->n) {
            for (size_t k = 0; k < line; k++)
                fputc('-', f);
            fputc('\n', f);
        }
        for (int c = 0; c < t.ncols; c++) {
            cell(r, x, i == rows->n, t.cols[c], buf, sizeof buf, &w);
            size_t pad = t.width[c] > w ? t.width[c] - w : 0;
            if (t.cols[c] == COL_NAME)
                fprintf(f, "%s%*s", buf, c == t.ncols - 1 ? 0 : (int)pad, "");
            else
                fprintf(f, "  %*s%s", (int)pad, "", buf);
        }
        fputc('\n', f);
    }
}

static void sum_rows(const rowvec *v, row *tot)
{
    memset(tot, 0, sizeof *tot);
    for (size_t i = 0; i < v->n; i++) {
        const row *x = &v->r[i];
        tot->samples = sat_add(tot->samples, x->samples);
        tot->wall = sat_add(tot->wall, x->wall);
        tot->cpu = sat_add(tot->cpu, x->cpu);
        tot->off = sat_add(tot->off, x->off);
        tot->ntasks = sat_add(tot->ntasks, x->ntasks);
        for (int c = 0; c < NCAUSE; c++)
            tot->cause[c] = sat_add(tot->cause[c], x->cause[c]);
    }
}

/* "100 Hz", or the period as written when its unit is not time. */
static void fmt_rate(const pprof_profile *p, char *buf, size_t n, double *hz)
{
    *hz = 0;
    buf[0] = 0;
    if (p->period <= 0)
        return;
    int64_t scale = unit_scale(p, p->period_type.unit);
    if (scale) {
        *hz = 1e9 / ((double)p->period * (double)scale);
        snprintf(buf, n, "%.4g Hz", *hz);
    } else {
        size_t ul;
        const char *u = pprof_str(p, p->period_type.unit, &ul);
        char ut[64];
        term_text(u, ul, 20, ut, sizeof ut);
        snprintf(buf, n, "a period of %" PRId64 " %s", p->period, ut);
    }
}

static void fmt_time(int64_t ns, char *buf, size_t n)
{
    buf[0] = 0;
    if (ns <= 0)
        return;
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static void missing_types(const report *r, char *buf, size_t n)
{
    buf[0] = 0;
    const char *names[3] = {"wall-time", "cpu-time", "off-cpu-time"};
    int idx[3] = {r->i_wall, r->i_cpu, r->i_off};
    size_t o = 0;
    for (int i = 0; i < 3; i++)
        if (idx[i] < 0 && o < n)
            o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", names[i]);
}

static void print_notes(const report *r, FILE *f, const char *prefix)
{
    if (r->stateless_tasks && !r->any_state)
        fprintf(f, "%sasyncio task samples carry no task state (a profile from before strobe "
                   "recorded it): they are counted as thread time\n", prefix);
    if (r->odd_state)
        fprintf(f, "%s%zu sample%s with an unknown task state %s left out\n", prefix, r->odd_state,
                r->odd_state == 1 ? "" : "s", r->odd_state == 1 ? "is" : "are");
}

static void print_text(const report *r, const char *path, FILE *f)
{
    const pprof_profile *p = r->p;
    char name[4096], rate[128], when[64], miss[128];
    double hz;
    term_text(path, strlen(path), 200, name, sizeof name);
    fmt_rate(p, rate, sizeof rate, &hz);
    fmt_time(p->time_nanos, when, sizeof when);
    fprintf(f, "strobe report: %s\n", name);
    if (p->duration_nanos > 0)
        fprintf(f, "%.2f s", (double)p->duration_nanos / 1e9);
    else
        fprintf(f, "duration unknown");
    fprintf(f, ", %" PRId64 " sample%s", r->total_samples, r->total_samples == 1 ? "" : "s");
    if (rate[0])
        fprintf(f, " at %s", rate);
    fprintf(f, ", %zu thread%s", r->threads.n, r->threads.n == 1 ? "" : "s");
    if (when[0])
        fprintf(f, ", recorded %s", when);
    fputc('\n', f);

    missing_types(r, miss, sizeof miss);
    if (r->i_off < 0 && r->i_wall >= 0)
        fprintf(f, "off-CPU time is not in this profile (no off-cpu-time samples: written by an "
                   "older strobe or another tool); wall and CPU only\n");
    else if (r->i_wall < 0)
        fprintf(f, "this profile has no wall-time samples, so off-CPU time cannot be shown "
                   "(missing: %s)\n", miss);
    print_notes(r, f, "note: ");

    row tot;
    table tb;
    memset(&tb, 0, sizeof tb);
    tb.cols[tb.ncols++] = COL_NAME;
    tb.cols[tb.ncols++] = COL_TID;
    if (r->i_wall >= 0)
        tb.cols[tb.ncols++] = COL_WALL;
    if (r->i_cpu >= 0)
        tb.cols[tb.ncols++] = COL_CPU;
    if (r->i_off >= 0) {
        tb.cols[tb.ncols++] = COL_OFF;
        if (r->i_wall >= 0)
            tb.cols[tb.ncols++] = COL_PCT;
        for (int c = 0; c < C_UNKNOWN; c++)
            tb.cols[tb.ncols++] = COL_CAUSE0 + c;
        if (r->any_unknown_cause)
            tb.cols[tb.ncols++] = COL_CAUSE0 + C_UNKNOWN;
    }
    fputc('\n', f);
    if (r->threads.n == 0) {
        fprintf(f, "no thread samples\n");
    } else {
        fprintf(f, "seconds per thread%s\n",
                r->i_off >= 0 ? "; off-cpu = wall - cpu, split by cause" : "");
        sum_rows(&r->threads, &tot);
        print_table(r, &tb, &r->threads, r->threads.n > 1 ? &tot : NULL, f);
    }

    if (r->tasks.n) {
        size_t ntasks = r->task_ids.n;
        memset(&tb, 0, sizeof tb);
        tb.cols[tb.ncols++] = COL_NAME;
        tb.cols[tb.ncols++] = COL_TID;
        tb.cols[tb.ncols++] = COL_TASKS;
        tb.cols[tb.ncols++] = COL_WAIT;
        for (int c = 0; c < C_UNKNOWN; c++)
            tb.cols[tb.ncols++] = COL_CAUSE0 + c;
        if (r->any_task_unknown_cause)
            tb.cols[tb.ncols++] = COL_CAUSE0 + C_UNKNOWN;
        fprintf(f, "\nasyncio: %zu suspended task%s, waiting time per loop thread, in seconds "
                   "(not thread time)\n", ntasks, ntasks == 1 ? "" : "s");
        sum_rows(&r->tasks, &tot);
        print_table(r, &tb, &r->tasks, r->tasks.n > 1 ? &tot : NULL, f);
    }
}

/* ---- JSON ------------------------------------------------------------------------- */

/* A JSON string of arbitrary bytes: UTF-8 kept, invalid bytes U+FFFD. */
static void json_str(FILE *f, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_next(u + i, len - i, &cp);
        if (cp == '"' || cp == '\\') {
            fputc('\\', f);
            fputc((int)cp, f);
        } else if (cp < 0x20) {
            switch (cp) {
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            default: fprintf(f, "\\u%04x", (unsigned)cp); break;
            }
        } else if (cp == 0xfffd && n == 1) {
            fputs("\\ufffd", f);
        } else if (cp == 0x2028 || cp == 0x2029) {
            fprintf(f, "\\u%04x", (unsigned)cp);   /* valid JSON, but not in JavaScript strings */
        } else {
            fwrite(s + i, 1, n, f);
        }
        i += n;
    }
    fputc('"', f);
}

static void json_label(FILE *f, const pprof_profile *p, uint32_t id)
{
    if (id == NONE) {
        fputs("null", f);
        return;
    }
    size_t len;
    const char *s = pprof_str(p, id, &len);
    json_str(f, s, len);
}

/* A native id as a number when it is a plain decimal integer. */
static void json_native(FILE *f, const pprof_profile *p, uint32_t id)
{
    size_t len = 0;
    const char *s = id == NONE ? "" : pprof_str(p, id, &len);
    size_t k = len && s[0] == '-' ? 1 : 0;
    int plain = len > k && len - k <= 18 && (s[k] != '0' || len - k == 1);
    for (size_t i = k; plain && i < len; i++)
        plain = s[i] >= '0' && s[i] <= '9';
    if (plain)
        fwrite(s, 1, len, f);
    else
        json_label(f, p, id);
}

/* Exact seconds from nanoseconds ("1.5", "0.000001", "0.0"). */
static void json_secs(FILE *f, int64_t ns)
{
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    char frac[16];
    snprintf(frac, sizeof frac, "%09u", (unsigned)(a % 1000000000u));
    size_t n = strlen(frac);
    while (n > 1 && frac[n - 1] == '0')
        n--;
    fprintf(f, "%s%" PRIu64 ".%.*s", ns < 0 ? "-" : "", a / 1000000000u, (int)n, frac);
}

static void json_causes(FILE *f, const row *t)
{
    fputc('{', f);
    for (int c = 0; c < NCAUSE; c++) {
        if (c == C_UNKNOWN && !t->cause[c])
            continue;
        fprintf(f, "%s\"%s\": ", c ? ", " : "", cause_name[c]);
        json_secs(f, t->cause[c]);
    }
    fputc('}', f);
}

static void print_json(const report *r, const char *path, FILE *f)
{
    const pprof_profile *p = r->p;
    char rate[128], when[64];
    double hz;
    fmt_rate(p, rate, sizeof rate, &hz);
    fmt_time(p->time_nanos, when, sizeof when);
    fputs("{\"file\": ", f);
    json_str(f, path, strlen(path));
    fputs(", \"duration_s\": ", f);
    json_secs(f, p->duration_nanos);
    fprintf(f, ", \"samples\": %" PRId64 ", \"rate_hz\": ", r->total_samples);
    if (hz > 0)
        fprintf(f, "%.6g", hz);
    else
        fputs("null", f);
    fputs(", \"time_nanos\": ", f);
    fprintf(f, "%" PRId64, p->time_nanos);
    fputs(", \"sample_types\": [", f);
    for (size_t i = 0; i < p->nsample_type; i++) {
        if (i)
            fputs(", ", f);
        json_label(f, p, p->sample_type[i].type);
    }
    fputs("], \"missing\": [", f);
    const char *names[3] = {"wall-time", "cpu-time", "off-cpu-time"};
    int idx[3] = {r->i_wall, r->i_cpu, r->i_off}, n = 0;
    for (int i = 0; i < 3; i++)
        if (idx[i] < 0)
            fprintf(f, "%s\"%s\"", n++ ? ", " : "", names[i]);
    fputs("], \"notes\": [", f);
    n = 0;
    if (r->stateless_tasks && !r->any_state)
        fprintf(f, "%s\"asyncio task samples carry no task state: counted as thread time\"", n++ ? ", " : "");
    if (r->odd_state)
        fprintf(f, "%s\"%zu sample%s with an unknown task state left out\"", n++ ? ", " : "",
                r->odd_state, r->odd_state == 1 ? "" : "s");
    fputs("],\n \"threads\": [", f);
    for (size_t i = 0; i < r->threads.n; i++) {
        const row *t = &r->threads.r[i];
        fputs(i ? ",\n  {" : "\n  {", f);
        fputs("\"native_id\": ", f);
        json_native(f, p, t->native);
        fputs(", \"name\": ", f);
        json_label(f, p, t->name);
        fprintf(f, ", \"samples\": %" PRId64 ", \"wall_s\": ", t->samples);
        if (r->i_wall >= 0)
            json_secs(f, t->wall);
        else
            fputs("null", f);
        fputs(", \"cpu_s\": ", f);
        if (r->i_cpu >= 0)
            json_secs(f, t->cpu);
        else
            fputs("null", f);
        fputs(", \"off_cpu_s\": ", f);
        if (r->i_off >= 0)
            json_secs(f, t->off);
        else
            fputs("null", f);
        fputs(", \"off_cpu_pct\": ", f);
        if (r->i_off >= 0 && r->i_wall >= 0 && t->wall > 0)
            fprintf(f, "%.2f", 100.0 * (double)t->off / (double)t->wall);
        else
            fputs("null", f);
        fputs(", \"off_cpu_by_cause\": ", f);
        if (r->i_off >= 0)
            json_causes(f, t);
        else
            fputs("null", f);
        fputc('}', f);
    }
    fputs(r->threads.n ? "\n ],\n \"tasks\": [" : "],\n \"tasks\": [", f);
    for (size_t i = 0; i < r->tasks.n; i++) {
        const row *t = &r->tasks.r[i];
        fputs(i ? ",\n  {" : "\n  {", f);
        fputs("\"native_id\": ", f);
        json_native(f, p, t->native);
        fputs(", \"thread\": ", f);
        json_label(f, p, t->name);
        fprintf(f, ", \"tasks\": %" PRId64 ", \"samples\": %" PRId64 ", \"wait_s\": ", t->ntasks, t->samples);
        json_secs(f, t->off);
        fputs(", \"wait_by_cause\": ", f);
        json_causes(f, t);
        fputc('}', f);
    }
    fputs(r->tasks.n ? "\n ]}\n" : "]}\n", f);
}

/* ---- the command ------------------------------------------------------------------ */

/* 0, or 1 after saying why (nothing when the reader went away: `| head`). */
static int write_all(const char *s, size_t len)
{
    fflush(stdout);
    while (len) {
        ssize_t n = write(1, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0 && errno == EPIPE)
                return 1;
            fprintf(stderr, "strobe: error: cannot write the report: %s\n",
                    n < 0 ? strerror(errno) : "nothing written");
            return 1;
        }
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("strobe: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

int report_main(int argc, char **argv)
{
    const char *fmt = "text", *path = NULL;
    int nfiles = 0, opts = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts && !strcmp(a, "--")) {
            opts = 0;
        } else if (opts && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
            fputs(report_usage, stdout);
            return fflush(stdout) == 0 || errno == EPIPE ? 0 : 1;
        } else if (opts && (!strcmp(a, "--format") || !strcmp(a, "-f"))) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value: text or json (strobe report --help)", a);
            fmt = argv[++i];
        } else if (opts && !strncmp(a, "--format=", 9)) {
            fmt = a + 9;
        } else if (opts && a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s' (strobe report --help)", a);
        } else {
            path = a;
            nfiles++;
        }
    }
    if (strcmp(fmt, "text") && strcmp(fmt, "json"))
        return usage_error("unknown format '%s': text or json", fmt);
    if (nfiles == 0)
        return usage_error("report needs a profile: strobe report [--format text|json] FILE");
    if (nfiles > 1)
        return usage_error("report reads one profile, %d were given (strobe report --help)", nfiles);

    pprof_profile p;
    char err[512];
    if (pprof_read_file(path, &p, err, sizeof err) != 0) {
        fprintf(stderr, "strobe: error: %s: %s\n", path, err);
        return 1;
    }
    report r;
    if (analyse(&r, &p, err, sizeof err) != 0) {
        fprintf(stderr, "strobe: error: %s: %s\n", path, err);
        report_free(&r);
        pprof_free(&p);
        return 1;
    }
    if (r.i_wall < 0 && r.i_cpu < 0 && r.i_off < 0) {
        fprintf(stderr, "strobe: error: %s: no wall-time, cpu-time or off-cpu-time values "
                        "(in nanoseconds) in this profile: nothing to report (its sample types: ",
                path);
        for (size_t i = 0; i < p.nsample_type; i++) {
            size_t tl, ul;
            const char *t = pprof_str(&p, p.sample_type[i].type, &tl);
            const char *u = pprof_str(&p, p.sample_type[i].unit, &ul);
            char tt[80], uu[80];
            term_text(t, tl, 40, tt, sizeof tt);
            term_text(u, ul, 40, uu, sizeof uu);
            fprintf(stderr, "%s%s/%s", i ? ", " : "", tt, uu);
        }
        fprintf(stderr, "%s)\n", p.nsample_type ? "" : "none");
        report_free(&r);
        pprof_free(&p);
        return 1;
    }
    sort_ctx = &r;
    if (r.threads.n > 1)
        qsort(r.threads.r, r.threads.n, sizeof *r.threads.r, cmp_rows);
    sort_by_wait = 1;
    if (r.tasks.n > 1)
        qsort(r.tasks.r, r.tasks.n, sizeof *r.tasks.r, cmp_rows);
    sort_by_wait = 0;
    sort_ctx = NULL;

    /* Composed in memory, then written with write(2): the one place where
     * output can fail, with its errno. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        if (!strcmp(fmt, "json"))
            print_json(&r, path, f);
        else
            print_text(&r, path, f);
    }
    report_free(&r);
    pprof_free(&p);
    if (!f || fclose(f) != 0) {
        free(text);
        fprintf(stderr, "strobe: error: out of memory while writing the report\n");
        return 1;
    }
    int rc = write_all(text, len);
    free(text);
    return rc;
}
