/* ccall.c — see ccall.h. */
#include "ccall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "pyobj.h"

int ccall_init(ccall_cache *c, const opflow_tables *T)
{
    memset(c, 0, sizeof *c);
    if (!T) return 0;
    c->T = *T;
    c->sites = calloc(CCALL_SITES, sizeof *c->sites);
    c->names = calloc(CCALL_NAMES, sizeof *c->names);
    if (!c->sites || !c->names) {
        ccall_free(c);
        return -1;
    }
    c->enabled = 1;
    return 0;
}

void ccall_free(ccall_cache *c)
{
    free(c->sites);
    free(c->names);
    free(c->code);
    free(c->depth);
    memset(c, 0, sizeof *c);
}

/* A NUL-terminated C string (a method's or type's name, in the binary's or
 * an extension's static data), read without crossing into a page that may
 * not exist. */
static int read_cstr(mem_target *m, uint64_t addr, char *out, size_t cap)
{
    size_t have = 0;
    if (!addr || cap < 2) return -1;
    while (have < cap - 1) {
        size_t page_left = 4096 - (size_t)((addr + have) & 4095);
        size_t want = cap - 1 - have;
        if (want > page_left) want = page_left;
        if (mem_read(m, addr + have, want, out + have) != 0) return -1;
        void *nul = memchr(out + have, 0, want);
        if (nul) return (int)((char *)nul - out);
        have += want;
    }
    out[cap - 1] = 0;
    return -1;   /* no end within cap: not a name */
}

static int plausible_name(const char *s)
{
    if (!*s) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return 0;
    return 1;
}

/* The type's name: tp_name ("module.Name" for C types; a bare "Name" for a
 * builtin such as str, or for a class written in Python). */
static int type_name(unwinder *u, uint64_t type, char *out, size_t cap)
{
    const strobe_layout *L = u->L;
    uint64_t p;
    if (!type || mem_read(u->mem, type + (uint64_t)L->tp_name, 8, &p) != 0) return -1;
    return read_cstr(u->mem, p, out, cap) > 0 && plausible_name(out) ? 0 : -1;
}

static uint64_t type_flags(unwinder *u, uint64_t type)
{
    uint64_t f = 0;
    if (mem_read(u->mem, type + (uint64_t)u->L->tp_flags, 8, &f) != 0) return 0;
    return f;
}

/* A type whose code is C: not a class statement's (a heap type named
 * without a module: its methods are Python functions). */
static int c_type(unwinder *u, uint64_t type, char *name, size_t cap)
{
    if (type_name(u, type, name, cap) != 0) return 0;
    if (type_flags(u, type) & u->L->tpflags_heaptype) return strchr(name, '.') != NULL;
    return 1;
}

static ccall_name *name_slot(ccall_cache *c, uint64_t k1, uint64_t k2, uint64_t k3)
{
    uint64_t h = strobe_mix64(k1 ^ strobe_mix64(k2 ^ strobe_mix64(k3)));
    return &c->names[h & (CCALL_NAMES - 1)];
}

/* What identifies the name of the callable at `obj` (k[0..2], from its
 * header and at most its owner's type): 1, 0 when it is Python code (a
 * function or bound method), -1 when unreadable. */
static int callable_keys(unwinder *u, uint64_t obj, uint8_t hdr[48], uint64_t k[3])
{
    const strobe_layout *L = u->L;
    uint64_t type = mem_u64(hdr, L->ob_type);
    k[0] = type;
    k[1] = k[2] = 0;
    if (type == L->function_type || type == L->method_type) return 0;
    if (type == L->cfunction_type || (L->cmethod_type && type == L->cmethod_type)) {
        uint64_t self = mem_u64(hdr, L->cf_self), module = mem_u64(hdr, L->cf_module);
        k[1] = mem_u64(hdr, L->cf_ml);
        /* a module's function is named by m_module; a bound method by its
         * object's type */
        k[2] = module ? module | 1 : (self ? pyobj_type(u->mem, L, self) : 0);
    } else if (type == L->methoddescr_type || type == L->classmethoddescr_type) {
        k[1] = mem_u64(hdr, L->md_method);
        k[2] = mem_u64(hdr, L->descr_type);
    } else if (type == L->wrapperdescr_type ||
               (L->methodwrapper_type && type == L->methodwrapper_type)) {
        if (type != L->wrapperdescr_type) {   /* bound: named by its descriptor */
            uint64_t descr = mem_u64(hdr, L->mw_descr);
            if (!descr || mem_read(u->mem, descr, 48, hdr) != 0 ||
                mem_u64(hdr, L->ob_type) != L->wrapperdescr_type)
                return -1;
            k[0] = L->wrapperdescr_type;
        }
        k[1] = mem_u64(hdr, L->wd_base);
        k[2] = mem_u64(hdr, L->descr_type);
    } else if (type == L->type_type) {
        k[1] = obj;   /* a class called */
    }
    return 1;
}

/* The name of the callable identified by k (see callable_keys): 1 with the
 * name in out, 0 when it is not C code, -1 when unreadable. */
static int callable_name(unwinder *u, uint64_t obj, const uint64_t k[3], char *out, size_t cap)
{
    const strobe_layout *L = u->L;
    char a[160], b[160];
    uint64_t type = k[0], p;
    if (type == L->cfunction_type || (L->cmethod_type && type == L->cmethod_type)) {
        if (mem_read(u->mem, k[1] + (uint64_t)L->ml_name, 8, &p) != 0 ||
            read_cstr(u->mem, p, b, sizeof b) <= 0 || !plausible_name(b))
            return -1;
        if ((k[2] & 1) && pyobj_read_str(u->mem, L, k[2] & ~1ULL, a, sizeof a) > 0 && plausible_name(a))
            snprintf(out, cap, "%s.%s", a, b);
        else if (!(k[2] & 1) && k[2] && type_name(u, k[2], a, sizeof a) == 0 && strcmp(a, "module") != 0)
            snprintf(out, cap, "%s.%s", a, b);
        else
            snprintf(out, cap, "%s", b);
        return 1;
    }
    if (type == L->methoddescr_type || type == L->classmethoddescr_type || type == L->wrapperdescr_type) {
        int32_t off = type == L->wrapperdescr_type ? L->wb_name : L->ml_name;
        if (type_name(u, k[2], a, sizeof a) != 0 || mem_read(u->mem, k[1] + (uint64_t)off, 8, &p) != 0 ||
            read_cstr(u->mem, p, b, sizeof b) <= 0 || !plausible_name(b))
            return -1;
        snprintf(out, cap, "%s.%s", a, b);
        return 1;
    }
    if (type == L->type_type) return c_type(u, obj, out, cap);
    /* an instance of a C type that is callable (functools.partial...) */
    uint64_t call;
    if (mem_read(u->mem, type + (uint64_t)L->tp_call, 8, &call) != 0) return -1;
    return call && c_type(u, type, out, cap) ? 1 : 0;
}

/* ---- call sites ---------------------------------------------------------------- */

/* The bytes of a code object's bytecode (and, 3.11+, its exception table)
 * into c->code: [0, *code_len) code, then [*code_len, +*exc_len) table. */
static int read_code(unwinder *u, ccall_cache *c, uint64_t code, size_t *code_len, size_t *exc_len,
                     int32_t *nlocalsplus)
{
    const strobe_layout *L = u->L;
    uint8_t *bytes = NULL, *exc = NULL;
    size_t nb = 0, ne = 0;
    *nlocalsplus = 0;
    if (L->co_code_adaptive >= 0) {   /* 3.11+: inline, ob_size code units */
        int64_t units;
        uint64_t table;
        if (mem_read(u->mem, code + (uint64_t)L->var_size, 8, &units) != 0 || units <= 0 ||
            units > (1 << 20) ||
            mem_read(u->mem, code + (uint64_t)L->co_nlocalsplus, 4, nlocalsplus) != 0 ||
            *nlocalsplus < 0 || *nlocalsplus > (1 << 20) ||
            mem_read(u->mem, code + (uint64_t)L->co_exceptiontable, 8, &table) != 0)
            return -1;
        nb = (size_t)units * 2;
        if (!(bytes = malloc(nb))) return -1;
        if (mem_read(u->mem, code + (uint64_t)L->co_code_adaptive, nb, bytes) != 0 ||
            pyobj_read_bytes(u->mem, L, table, &exc, &ne) != 0) {
            free(bytes);
            return -1;
        }
    } else {
        uint64_t obj;
        if (mem_read(u->mem, code + (uint64_t)L->co_code, 8, &obj) != 0 ||
            pyobj_read_bytes(u->mem, L, obj, &bytes, &nb) != 0)
            return -1;
    }
    size_t need = nb + ne;
    if (nb == 0) {   /* no bytecode: nothing to analyse */
        free(bytes);
        free(exc);
        return -1;
    }
    if (need > c->code_cap) {
        uint8_t *n = realloc(c->code, need);
        if (!n) {
            free(bytes);
            free(exc);
            return -1;
        }
        c->code = n;
        c->code_cap = need;
    }
    memcpy(c->code, bytes, nb);
    if (ne) memcpy(c->code + nb, exc, ne);
    free(bytes);
    free(exc);
    *code_len = nb;
    *exc_len = ne;
    return 0;
}

/* Analyse the call site (code, addr) into s. */
static void analyse_site(unwinder *u, ccall_cache *c, uint64_t code, int64_t addr, ccall_site *s)
{
    size_t code_len, exc_len;
    int32_t nlp;
    s->kind = -1;
    if (read_code(u, c, code, &code_len, &exc_len, &nlp) != 0) return;
    size_t units = code_len / 2;
    if (units == 0 || (uint64_t)addr >= code_len || (addr & 1)) return;
    if (units > c->depth_cap) {
        int16_t *d = realloc(c->depth, units * sizeof *d);
        if (!d) return;
        c->depth = d;
        c->depth_cap = units;
    }
    if (opflow_depths(&c->T, c->code, code_len, c->code + code_len, exc_len, c->depth, units) != 0) {
        c->unanalysable++;
        return;
    }
    int op;
    uint32_t arg;
    size_t at;
    if (opflow_decode(&c->T, c->code, code_len, c->depth, units, (size_t)addr / 2, &op, &arg, &at) != 0 ||
        c->depth[at] < 0 || arg > INT32_MAX)
        return;
    if (c->T.version_hex < 0x03090000) {
        /* 3.8: inside a finally body the depth depends on how it was
         * entered; such sites are left alone */
        uint8_t *nest = malloc(units);
        int inside = !nest || opflow_finally_nesting(&c->T, c->code, code_len, c->depth, nest, units) != 0 ||
                     nest[at] != 0;
        free(nest);
        if (inside) return;
    }
    opflow_call call;
    if (opflow_callee(&c->T, op, (int)arg, c->depth[at], &call) != 0) return;
    if (call.kind != OPFLOW_CALL_PLAIN && call.kind != OPFLOW_CALL_METHOD && call.kind != OPFLOW_CALL_KW &&
        call.kind != OPFLOW_CALL_EX && call.kind != OPFLOW_CALL_ENTER)
        return;
    s->kind = (int8_t)call.kind;
    s->a = call.slot;
    s->b = call.self_slot;
    s->exitbound = (call.flags & OPFLOW_CD_EXITBOUND) != 0;
    s->nlocalsplus = nlp;
}

static ccall_site *site_of(unwinder *u, ccall_cache *c, const raw_frame *f)
{
    const code_info *ci = codecache_lookup(u->cc, f->code);
    if (!ci) return NULL;
    ccall_site *s = &c->sites[strobe_mix64(f->code ^ ((uint64_t)f->addr << 40)) & (CCALL_SITES - 1)];
    if (s->code == f->code && s->addr == f->addr && s->build_id == ci->build_id) return s;
    s->code = f->code;
    s->addr = f->addr;
    s->build_id = ci->build_id;
    analyse_site(u, c, f->code, f->addr, s);
    return s;
}

/* Read [addr, +n) now, and the frame's instruction pointer right after it
 * (one system call, in that order): 0 when both were read and the frame is
 * still at the instruction it was sampled at, so what was read belongs to
 * the call in progress.  n == 0: only the check. */
static int read_checked(unwinder *u, const raw_frame *f, uint64_t addr, void *buf, size_t n)
{
    const strobe_layout *L = u->L;
    uint64_t instr = 0;
    int32_t lasti = 0;
    int iframe = L->frame_model == FRAME_MODEL_IFRAME;
    mem_iov v[2] = { { addr, buf, n },
                     { f->frame + (uint64_t)(iframe ? L->if_instr : L->f_lasti),
                       iframe ? (void *)&instr : (void *)&lasti, iframe ? 8u : 4u } };
    if (mem_readv_fresh(u->mem, n ? v : v + 1, n ? 2 : 1) != 0) return -1;
    int64_t at = iframe ? (int64_t)(instr - (f->code + (uint64_t)L->co_code_adaptive))
                        : (L->lasti_is_units ? 2 * (int64_t)lasti : lasti);
    return at == f->addr ? 0 : -1;
}

int ccall_leaf(unwinder *u, ccall_cache *c, const raw_frame *f, uint32_t *loc)
{
    const strobe_layout *L = u->L;
    if (!c->enabled || !f->code || !f->frame || f->addr < 0) return 0;
    ccall_site *s = site_of(u, c, f);
    if (!s || s->kind < 0) return 0;
    /* the value stack: after the locals (3.11+), or f_valuestack */
    uint64_t base;
    if (L->frame_model == FRAME_MODEL_IFRAME) {
        base = f->frame + (uint64_t)L->if_localsplus + 8 * (uint64_t)s->nlocalsplus;
    } else {
        mem_iov v = { f->frame + (uint64_t)L->f_valuestack, &base, 8 };
        if (mem_readv_fresh(u->mem, &v, 1) != 0 || !base) return 0;
    }
    uint64_t slot[2] = { 0, 0 };
    int nslot = s->kind == OPFLOW_CALL_METHOD && s->b == s->a + 1 ? 2 : 1;
    if (s->a < 0 || read_checked(u, f, base + 8 * (uint64_t)s->a, slot, 8 * (size_t)nslot) != 0) {
        c->torn++;
        return 0;
    }
    uint64_t obj = slot[0];
    if (s->kind == OPFLOW_CALL_METHOD && !obj) obj = slot[1];   /* NULL: a plain call */
    if (!obj) return 0;
    int enter = s->kind == OPFLOW_CALL_ENTER;
    if (enter && s->exitbound) {
        /* the slot holds the manager's bound __exit__ (a C type's: a
         * builtin method), whose __self__ is the manager */
        uint8_t hdr[48];
        if (read_checked(u, f, obj, hdr, sizeof hdr) != 0) return 0;
        uint64_t t = mem_u64(hdr, L->ob_type);
        if (t != L->cfunction_type && !(L->cmethod_type && t == L->cmethod_type)) return 0;
        if (!(obj = mem_u64(hdr, L->cf_self))) return 0;
    }
    uint64_t k[3];
    int rc;
    if (enter) {
        k[0] = pyobj_type(u->mem, L, obj);
        k[1] = 1;   /* its __enter__ */
        k[2] = 0;
        rc = k[0] ? 1 : -1;
    } else {
        uint8_t hdr[48];   /* read now, while the call still holds it */
        rc = read_checked(u, f, obj, hdr, sizeof hdr) == 0 ? callable_keys(u, obj, hdr, k) : -1;
    }
    ccall_name *e = rc == 1 ? name_slot(c, k[0], k[1], k[2]) : NULL;
    int known = e && e->used && e->k1 == k[0] && e->k2 == k[1] && e->k3 == k[2];
    if (rc == 1 && !known) {
        char name[384], tn[256];
        if (enter) {
            rc = c_type(u, k[0], tn, sizeof tn);
            snprintf(name, sizeof name, "%s.__enter__", tn);
        } else {
            rc = callable_name(u, obj, k, name, sizeof name);
        }
        if (rc >= 0) {
            e->loc = UINT32_MAX;   /* not C: remembered too */
            if (rc == 1 && profile_intern_synthetic(u->prof, name, strlen(name), &e->loc) != PROF_OK)
                return -1;
            e->k1 = k[0];
            e->k2 = k[1];
            e->k3 = k[2];
            e->used = 1;
        }
    }
    if (rc < 0 || (!known && read_checked(u, f, 0, NULL, 0) != 0)) {   /* the thread moved on */
        c->torn++;
        return 0;
    }
    if (!e || e->loc == UINT32_MAX) {
        c->not_c++;
        return 0;
    }
    c->found++;
    *loc = e->loc;
    return 1;
}
