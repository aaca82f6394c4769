/* links.c — see links.h.  Two open-addressing tables with linear probing;
 * deletion shifts the rest of the cluster back so lookups never need
 * tombstones. */
#include "links.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

int links_init(links *l)
{
    memset(l, 0, sizeof *l);
    return pthread_mutex_init(&l->lock, NULL) == 0 ? 0 : -1;
}

void links_free(links *l)
{
    for (size_t i = 0; i < l->a_cap; i++) free(l->a[i].children);
    free(l->a);
    free(l->c);
    pthread_mutex_destroy(&l->lock);
    memset(l, 0, sizeof *l);
}

#define SLOT(key, cap) (strobe_mix64(key) & ((cap) - 1))

static child_link *c_slot(child_link *t, size_t cap, uint64_t key)
{
    size_t i = SLOT(key, cap);
    while (t[i].child && t[i].child != key) i = (i + 1) & (cap - 1);
    return &t[i];
}

static await_link *a_slot(await_link *t, size_t cap, uint64_t key)
{
    size_t i = SLOT(key, cap);
    while (t[i].key && t[i].key != key) i = (i + 1) & (cap - 1);
    return &t[i];
}

static int c_grow(links *l)
{
    size_t ncap = l->c_cap ? l->c_cap * 2 : 1024;
    child_link *n = calloc(ncap, sizeof *n);
    if (!n) return -1;
    for (size_t i = 0; i < l->c_cap; i++)
        if (l->c[i].child) *c_slot(n, ncap, l->c[i].child) = l->c[i];
    free(l->c);
    l->c = n;
    l->c_cap = ncap;
    return 0;
}

static int a_grow(links *l)
{
    size_t ncap = l->a_cap ? l->a_cap * 2 : 256;
    await_link *n = calloc(ncap, sizeof *n);
    if (!n) return -1;
    for (size_t i = 0; i < l->a_cap; i++)
        if (l->a[i].key) *a_slot(n, ncap, l->a[i].key) = l->a[i];
    free(l->a);
    l->a = n;
    l->a_cap = ncap;
    return 0;
}

static void c_delete(links *l, child_link *e)
{
    size_t mask = l->c_cap - 1, i = (size_t)(e - l->c);
    e->child = 0;
    l->c_used--;
    for (size_t j = (i + 1) & mask; l->c[j].child; j = (j + 1) & mask) {
        child_link tmp = l->c[j];
        l->c[j].child = 0;
        *c_slot(l->c, l->c_cap, tmp.child) = tmp;
    }
}

static void a_delete(links *l, await_link *e)
{
    size_t mask = l->a_cap - 1, i = (size_t)(e - l->a);
    l->a_coro -= e->coro;
    free(e->children);
    e->children = NULL;
    e->key = 0;
    l->a_used--;
    for (size_t j = (i + 1) & mask; l->a[j].key; j = (j + 1) & mask) {
        await_link tmp = l->a[j];
        l->a[j].key = 0;
        l->a[j].children = NULL;
        *a_slot(l->a, l->a_cap, tmp.key) = tmp;
    }
}

void links_child(links *l, uint64_t child, uint64_t child_coro, uint64_t parent,
                 uint64_t parent_coro, int kind)
{
    if (!child) return;
    pthread_mutex_lock(&l->lock);
    if (2 * (l->c_used + 1) > l->c_cap && (l->c_used >= LINKS_MAX || c_grow(l) != 0)) {
        l->dropped++;
        goto out;
    }
    child_link *e = c_slot(l->c, l->c_cap, child);
    if (!e->child) l->c_used++;
    else if (e->kind > kind && e->child_coro == child_coro) goto out;   /* keep the stronger */
    e->child = child;
    e->child_coro = child_coro;
    e->parent = parent;
    e->parent_coro = parent_coro;
    e->kind = kind;
    e->seq = ++l->seq;
    l->ver++;
out:
    pthread_mutex_unlock(&l->lock);
}

void links_awaitable(links *l, uint64_t key, const uint64_t *children, size_t n, int coro)
{
    if (!key) return;
    if (n > LINKS_MAX_CHILDREN) n = LINKS_MAX_CHILDREN;
    uint64_t *copy = NULL;
    if (children && n) {
        copy = malloc(n * sizeof *copy);
        if (!copy) return;
        memcpy(copy, children, n * sizeof *copy);
    }
    pthread_mutex_lock(&l->lock);
    await_link *e = l->a_cap ? a_slot(l->a, l->a_cap, key) : NULL;
    l->ver++;
    if (e && e->key) a_delete(l, e);
    if (copy) {
        if (2 * (l->a_used + 1) > l->a_cap && (l->a_used >= LINKS_MAX || a_grow(l) != 0)) {
            l->dropped++;
            free(copy);
        } else {
            e = a_slot(l->a, l->a_cap, key);
            e->key = key;
            e->children = copy;
            e->n = (uint32_t)n;
            e->coro = coro != 0;
            l->a_coro += e->coro;
            l->a_used++;
        }
    }
    pthread_mutex_unlock(&l->lock);
}

const child_link *links_find_child(const links *l, uint64_t child)
{
    if (!l->c_cap || !child) return NULL;
    const child_link *e = c_slot(l->c, l->c_cap, child);
    return e->child ? e : NULL;
}

const await_link *links_find_awaitable(const links *l, uint64_t key)
{
    if (!l->a_cap || !key) return NULL;
    const await_link *e = a_slot(l->a, l->a_cap, key);
    return e->key ? e : NULL;
}

void links_prune(links *l, uint64_t before, int (*alive)(void *, uint64_t), void *arg)
{
    for (size_t i = 0; i < l->c_cap;) {
        child_link *e = &l->c[i];
        if (e->child && e->seq < before && !alive(arg, e->child)) {
            c_delete(l, e);   /* the slot now holds a shifted entry: look again */
            l->ver++;
            continue;
        }
        i++;
    }
}

void links_running_loop(links *l, uint64_t loop, int64_t tid, int stepped)
{
    pthread_mutex_lock(&l->lock);
    for (int i = 0; i < l->nloops;) {   /* one loop per thread, one thread per loop */
        if (l->loops[i].tid == tid || (loop && l->loops[i].loop == loop))
            l->loops[i] = l->loops[--l->nloops];
        else
            i++;
    }
    if (loop && l->nloops < LINKS_MAX_LOOPS) {
        l->loops[l->nloops].loop = loop;
        l->loops[l->nloops].tid = tid;
        l->loops[l->nloops].stepped = stepped;
        l->nloops++;
    }
    pthread_mutex_unlock(&l->lock);
}

int64_t links_loop_tid(const links *l, uint64_t loop, int *stepped)
{
    for (int i = 0; i < l->nloops; i++)
        if (l->loops[i].loop == loop) {
            *stepped = l->loops[i].stepped;
            return l->loops[i].tid;
        }
    *stepped = 0;
    return 0;
}
