/* codecache.c — see codecache.h. */
#include "codecache.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "linetable.h"
#include "pyobj.h"

#define CC_INITIAL 1024
#define CC_DEFAULT_MAX (1u << 16)   /* ~400 bytes each with its line table: ~26 MiB at most */

static uint32_t hash_ptr(uint64_t p)
{
    return (uint32_t)strobe_mix64(p);
}

int codecache_init(codecache *c, mem_target *m, const strobe_layout *L, profile *p)
{
    memset(c, 0, sizeof *c);
    c->cap = CC_INITIAL;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (!c->slots) return -1;
    c->max_entries = CC_DEFAULT_MAX;
    c->recent = malloc(CC_MAX_USED * sizeof *c->recent);
    c->recent_prev = malloc(CC_MAX_USED * sizeof *c->recent_prev);
    if (!c->recent || !c->recent_prev) {
        free(c->slots);
        free(c->recent);
        free(c->recent_prev);
        memset(c, 0, sizeof *c);
        return -1;
    }
    c->mem = m;
    c->L = L;
    c->prof = p;
    return 0;
}

void codecache_clear(codecache *c)
{
    for (uint32_t i = 0; i < c->cap; i++) free(c->slots[i].linetable);
    memset(c->slots, 0, (size_t)c->cap * sizeof *c->slots);
    c->used = 0;
}

void codecache_free(codecache *c)
{
    if (!c->slots) return;
    codecache_clear(c);
    free(c->slots);
    c->slots = NULL;
    free(c->recent);
    free(c->recent_prev);
    free(c->batch);
    c->batch = NULL;
    c->recent = c->recent_prev = NULL;
    c->nrecent = c->nrecent_prev = 0;
    free(c->pend_code);
    free(c->pend_fid);
    c->pend_code = NULL;
    c->pend_fid = NULL;
    c->npend = c->pend_cap = 0;
}

/* Remember that function `fid` (code `code`) has only its short name. */
static void note_unqualified(codecache *c, uint64_t code, uint32_t fid)
{
    if (c->L->co_qualname >= 0 || c->npend >= CC_MAX_PENDING) return;
    if (c->npend && c->pend_fid[c->npend - 1] == fid && c->pend_code[c->npend - 1] == code) return;
    if (c->npend == c->pend_cap) {
        size_t ncap = c->pend_cap ? c->pend_cap * 2 : 256;
        uint64_t *a = realloc(c->pend_code, ncap * sizeof *a);
        if (!a) return;
        c->pend_code = a;
        uint32_t *b = realloc(c->pend_fid, ncap * sizeof *b);
        if (!b) return;
        c->pend_fid = b;
        c->pend_cap = ncap;
    }
    c->pend_code[c->npend] = code;
    c->pend_fid[c->npend++] = fid;
}

static code_info *find_slot(codecache *c, uint64_t code)
{
    uint32_t mask = c->cap - 1;
    for (uint32_t i = hash_ptr(code) & mask;; i = (i + 1) & mask) {
        code_info *e = &c->slots[i];
        if (e->code == code || e->code == 0) return e;
    }
}

static int grow(codecache *c)
{
    uint32_t ncap = c->cap * 2;
    code_info *old = c->slots;
    uint32_t ocap = c->cap;
    code_info *n = calloc(ncap, sizeof *n);
    if (!n) return -1;
    c->slots = n;
    c->cap = ncap;
    for (uint32_t i = 0; i < ocap; i++)
        if (old[i].code) *find_slot(c, old[i].code) = old[i];
    free(old);
    return 0;
}

/* Header fields of the code object at `code`, read into hdr. */
static int read_code(codecache *c, uint64_t code, uint8_t *hdr)
{
    const strobe_layout *L = c->L;
    if (L->co_size > CC_MAX_CODE_HDR) return -1;
    if (mem_read(c->mem, code, (size_t)L->co_size, hdr) != 0) return -1;
    if (mem_u64(hdr, L->ob_type) != L->code_type || !mem_refcnt_live(hdr, L->ob_refcnt)) return -1;
    return 0;
}

static void code_fields(const strobe_layout *L, const uint8_t *hdr, uint64_t obj[CC_NOBJ],
                        int32_t *first, int32_t *argc, int32_t *flags, int32_t *ftr, uint32_t *version)
{
    obj[0] = mem_u64(hdr, L->co_name);
    obj[1] = L->co_qualname >= 0 ? mem_u64(hdr, L->co_qualname) : obj[0];
    obj[2] = mem_u64(hdr, L->co_filename);
    obj[3] = mem_u64(hdr, L->co_linetable);
    *first = mem_i32(hdr, L->co_firstlineno);
    *argc = mem_i32(hdr, L->co_argcount);
    *flags = mem_i32(hdr, L->co_flags);
    *ftr = L->co_firsttraceable >= 0 ? mem_i32(hdr, L->co_firsttraceable) : 0;
    *version = L->co_version >= 0 ? (uint32_t)mem_i32(hdr, L->co_version) : 0;
}

static int read_windows(codecache *c, const uint64_t obj[CC_NOBJ], uint8_t win[CC_NOBJ][CC_WINDOW])
{
    mem_iov v[CC_NOBJ];
    for (int i = 0; i < CC_NOBJ; i++) {
        v[i].addr = obj[i] + 8;
        v[i].buf = win[i];
        v[i].size = CC_WINDOW;
    }
    return mem_readv(c->mem, v, CC_NOBJ);
}

/* Does the header say it is still the entry's code object? */
static int same_header(const strobe_layout *L, const code_info *e, const uint8_t *hdr)
{
    if (mem_u64(hdr, L->ob_type) != L->code_type || !mem_refcnt_live(hdr, L->ob_refcnt)) return 0;
    uint64_t obj[CC_NOBJ];
    int32_t first, argc, flags, ftr;
    uint32_t version;
    code_fields(L, hdr, obj, &first, &argc, &flags, &ftr, &version);
    return !memcmp(obj, e->obj, sizeof obj) && first == e->firstlineno && argc == e->argcount &&
           flags == e->flags && ftr == e->firsttraceable && version == e->version;
}

/* Is the freshly read header + windows still the entry's code object? */
static int same_code(const strobe_layout *L, const code_info *e, const uint8_t *hdr,
                     uint8_t win[CC_NOBJ][CC_WINDOW])
{
    return same_header(L, e, hdr) && memcmp(win, e->snap, (size_t)CC_NOBJ * CC_WINDOW) == 0;
}

/* 3.12+ with a version number: the header, through the page snapshots. */
static int same_versioned(codecache *c, const code_info *e)
{
    uint8_t hdr[CC_MAX_CODE_HDR];
    if (c->L->co_size > CC_MAX_CODE_HDR || mem_read(c->mem, e->code, (size_t)c->L->co_size, hdr) != 0)
        return 0;
    return same_header(c->L, e, hdr);
}

/* Validate a live entry with one batched read of header + four windows,
 * always of the memory as it is now (not through mem's page cache). */
static int still_valid(codecache *c, code_info *e)
{
    const strobe_layout *L = c->L;
    uint8_t hdr[CC_MAX_CODE_HDR];
    uint8_t win[CC_NOBJ][CC_WINDOW];
    mem_iov v[1 + CC_NOBJ];
    if (L->co_size > CC_MAX_CODE_HDR) return 0;
    v[0].addr = e->code; v[0].buf = hdr; v[0].size = (size_t)L->co_size;
    for (int i = 0; i < CC_NOBJ; i++) {
        v[1 + i].addr = e->obj[i] + 8;
        v[1 + i].buf = win[i];
        v[1 + i].size = CC_WINDOW;
    }
    /* One system call for the five small ranges: cheaper than five pages
     * through the cache (names and files sit on pages of their own). */
    if (mem_readv_fresh(c->mem, v, 1 + CC_NOBJ) != 0) return 0;
    return same_code(L, e, hdr, win);
}

static int intern_str(profile *p, const char *s, uint32_t *id)
{
    return profile_intern_string(p, s, strlen(s), id) == PROF_OK ? 0 : -1;
}

/* Build entry e for `code` from scratch. */
static int build(codecache *c, code_info *e, uint64_t code)
{
    const strobe_layout *L = c->L;
    uint8_t hdr[CC_MAX_CODE_HDR];
    if (read_code(c, code, hdr) != 0) return -1;
    code_info n;
    memset(&n, 0, sizeof n);
    n.code = code;
    code_fields(L, hdr, n.obj, &n.firstlineno, &n.argcount, &n.flags, &n.firsttraceable, &n.version);
    if (L->co_nlocalsplus >= 0 && L->co_stacksize >= 0 && L->if_specials > 0) {
        int64_t words = (int64_t)mem_i32(hdr, L->co_nlocalsplus) + mem_i32(hdr, L->co_stacksize) + L->if_specials;
        n.framesize = words >= L->if_specials && words < (1 << 24) ? (int32_t)words : 0;   /* (else not a code's) */
    }
    if (read_windows(c, n.obj, n.snap) != 0) return -1;

    char name[PYOBJ_MAX_STR * 4 + 1], file[PYOBJ_MAX_STR * 4 + 1];
    if (pyobj_read_str(c->mem, L, n.obj[1], name, sizeof name) < 0) return -1;
    if (pyobj_read_str(c->mem, L, n.obj[2], file, sizeof file) < 0) return -1;
    size_t ltlen = 0;
    if (pyobj_read_bytes(c->mem, L, n.obj[3], &n.linetable, &ltlen) != 0) return -1;
    n.linetable_len = (uint32_t)ltlen;

    /* The code object may have died while we read what it points to (a
     * stale frame): the entry counts only if the code is still the same,
     * alive, object now. */
    if (!still_valid(c, &n)) {
        free(n.linetable);
        return -1;
    }
    uint32_t nid, fid;
    if (intern_str(c->prof, name, &nid) || intern_str(c->prof, file, &fid) ||
        profile_intern_function(c->prof, nid, fid, n.firstlineno, &n.function) != PROF_OK) {
        free(n.linetable);
        return -1;
    }
    free(e->linetable);
    n.checked = c->mem->gen;
    n.build_id = ++c->builds;
    n.epoch = c->epoch_prev;
    n.epoch_ok = (uint8_t)(c->epoch_prev_ok && n.version);
    *e = n;
    note_unqualified(c, code, n.function);
    return 0;
}

static void note_looked(codecache *c, code_info *e)
{
    if (e->looked == c->mem->gen) return;
    e->looked = c->mem->gen;
    if (c->nrecent < CC_MAX_USED) c->recent[c->nrecent++] = e->code;
}


static void stamp(codecache *c, code_info *e);

/* Validate entries ent[0..n) (live, not checked in this mem pass) from
 * memory as it is now, in as few system calls as there are batches of
 * CC_BATCH: a versioned entry (3.12+) by its header, another by its header
 * and windows.  Those that pass are checked for this pass (and stamped);
 * the others are left to their next lookup, which validates or rebuilds
 * them alone. */
static void validate_many(codecache *c, code_info **ent, uint32_t n)
{
    const strobe_layout *L = c->L;
    if (!n || L->co_size > CC_MAX_CODE_HDR) return;
    if (!c->batch && !(c->batch = malloc(sizeof *c->batch))) return;
    uint8_t (*hdr)[CC_MAX_CODE_HDR] = c->batch->hdr;
    uint8_t (*win)[CC_NOBJ][CC_WINDOW] = c->batch->win;
    mem_iov v[CC_BATCH * (1 + CC_NOBJ)];
    for (uint32_t b = 0; b < n; b += CC_BATCH) {
        uint32_t m = n - b < CC_BATCH ? n - b : CC_BATCH;
        int nv = 0;
        for (uint32_t k = 0; k < m; k++) {
            code_info *e = ent[b + k];
            v[nv].addr = e->code; v[nv].buf = hdr[k]; v[nv].size = (size_t)L->co_size;
            nv++;
            if (e->version) continue;
            for (int j = 0; j < CC_NOBJ; j++, nv++) {
                v[nv].addr = e->obj[j] + 8;
                v[nv].buf = win[k][j];
                v[nv].size = CC_WINDOW;
            }
        }
        int ok = mem_readv_fresh(c->mem, v, nv) == 0;
        for (uint32_t k = 0; k < m; k++) {
            code_info *e = ent[b + k];
            if (ok && (e->version ? same_header(L, e, hdr[k]) : same_code(L, e, hdr[k], win[k]))) {
                c->batched++;
                if (e->checked != c->mem->gen) stamp(c, e);
                e->checked = c->mem->gen;
            } else {
                e->checked = 0;   /* its next lookup validates (or rebuilds) it alone */
            }
        }
    }
}

void codecache_next_pass(codecache *c)
{
    uint64_t *tmp = c->recent_prev;
    c->recent_prev = c->recent;
    c->recent = tmp;
    c->nrecent_prev = c->nrecent;
    c->nrecent = 0;
    if (!c->slots) return;
    code_info *ent[CC_BATCH];
    uint32_t i = 0;
    while (i < c->nrecent_prev) {
        uint32_t n = 0;
        for (; i < c->nrecent_prev && n < CC_BATCH; i++) {
            code_info *e = find_slot(c, c->recent_prev[i]);
            if (e->code != c->recent_prev[i] || e->checked == c->mem->gen || e->version) continue;
            e->checked = c->mem->gen;   /* claimed: a duplicate is skipped */
            ent[n++] = e;
        }
        for (uint32_t k = 0; k < n; k++) ent[k]->checked = 0;
        validate_many(c, ent, n);
    }
}

void codecache_check_many(codecache *c, const uint64_t *codes, size_t n, int counter_same)
{
    if (!c->slots) return;
    code_info *ent[CC_BATCH];
    uint32_t m = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || m == CC_BATCH) {
            for (uint32_t k = 0; k < m; k++) ent[k]->checked = 0;
            validate_many(c, ent, m);
            m = 0;
            if (i == n) break;
        }
        code_info *e = find_slot(c, codes[i]);
        if (!codes[i] || e->code != codes[i] || e->checked == c->mem->gen) continue;
        if (counter_same && codecache_confirm(c, codes[i])) continue;
        e->checked = c->mem->gen;   /* claimed: a duplicate is skipped */
        ent[m++] = e;
    }
}

void codecache_set_epoch(codecache *c, uint32_t counter, int ok)
{
    c->epoch_prev = c->epoch;
    c->epoch_prev_ok = c->epoch_ok;
    c->epoch = counter;
    c->epoch_ok = ok && counter != 0;
}

/* Validated in this pass: from memory read after the counter's previous
 * read, so valid while the counter stays at that value. */
static void stamp(codecache *c, code_info *e)
{
    e->epoch = c->epoch_prev;
    e->epoch_ok = (uint8_t)(c->epoch_prev_ok && e->version);
}

/* Does the code counter vouch for entry e this pass (validated while the
 * counter had the value it has now)? */
static int vouched(const codecache *c, const code_info *e)
{
    return c->epoch_ok && e->epoch_ok && e->epoch == c->epoch;
}

int codecache_confirm(codecache *c, uint64_t code)
{
    if (!code || !c->epoch_ok) return 0;   /* (before the probe: 3.8-3.11 have no counter) */
    code_info *e = find_slot(c, code);
    if (e->code != code || !vouched(c, e)) return 0;
    if (e->checked != c->mem->gen) {
        e->checked = c->mem->gen;
        c->unchanged++;
    }
    note_looked(c, e);
    return 1;
}

const code_info *codecache_peek(codecache *c, uint64_t code)
{
    if (!code) return NULL;
    const code_info *e = find_slot(c, code);
    if (e->code != code) return NULL;
    return e->checked == c->mem->gen || vouched(c, e) ? e : NULL;
}

const code_info *codecache_lookup(codecache *c, uint64_t code)
{
    if (!code) return NULL;
    code_info *e = find_slot(c, code);
    if (e->code == code) {
        if (e->checked == c->mem->gen || (e->version ? same_versioned(c, e) : still_valid(c, e))) {
            if (e->checked != c->mem->gen) stamp(c, e);
            e->checked = c->mem->gen;
            c->hits++;
            note_looked(c, e);
            return e;
        }
        c->invalidations++;
        if (build(c, e, code) != 0) {
            /* Not a readable code object now: forget the stale entry.
             * Deleting from linear probing: rehash the cluster after it. */
            free(e->linetable);
            e->linetable = NULL;
            e->code = 0;
            c->used--;
            uint32_t mask = c->cap - 1;
            for (uint32_t i = ((uint32_t)(e - c->slots) + 1) & mask; c->slots[i].code; i = (i + 1) & mask) {
                code_info tmp = c->slots[i];
                c->slots[i].code = 0;
                *find_slot(c, tmp.code) = tmp;
            }
            c->failures++;
            return NULL;
        }
        return e;
    }
    c->misses++;
    if (c->used >= c->max_entries) {
        /* Bounded memory: start over (function ids stay in the profile). */
        codecache_clear(c);
        e = find_slot(c, code);
    } else if ((c->used + 1) * 4 > c->cap * 3) {
        if (grow(c) != 0) return NULL;
        e = find_slot(c, code);
    }
    code_info tmp;
    memset(&tmp, 0, sizeof tmp);
    if (build(c, &tmp, code) != 0) {
        c->failures++;
        return NULL;
    }
    *e = tmp;
    c->used++;
    note_looked(c, e);
    return e;
}

int codecache_line(const codecache *c, const code_info *ci, int64_t addr)
{
    int line = -1;
    /* A module's first instruction (RESUME, 3.11+) is at line 0 in its own
     * table: a frame caught there has just started; it is on the code's
     * first line, which is what it shows. */
    if (addr < 0 || addr > UINT32_MAX ||
        linetable_line((enum linetable_format)c->L->linetable_format, ci->linetable,
                       ci->linetable_len, ci->firstlineno, (uint32_t)addr, &line) != 0 ||
        line <= 0)
        return ci->firstlineno;
    return line;
}
