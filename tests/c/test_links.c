/* links.c: child links (a stronger kind is not replaced by a weaker one for
 * the same child), awaitables (replace, forget, coroutine-key count),
 * pruning of dead children recorded before a pass, running loops, and the
 * table cap. */
#include <string.h>

#include "check.h"
#include "links.h"

static void test_child_links(void)
{
    links l;
    CHECK(links_init(&l) == 0);
    links_child(&l, 0x1000, 0xc1, 0x2000, 0xc2, LINK_STRONG);
    links_child(&l, 0x1000, 0xc1, 0x3000, 0xc3, LINK_WEAK);   /* weaker: ignored */
    const child_link *e = links_find_child(&l, 0x1000);
    CHECK(e && e->parent == 0x2000 && e->kind == LINK_STRONG);
    /* a new task at the same address (another coroutine) replaces it */
    links_child(&l, 0x1000, 0xd1, 0x3000, 0xc3, LINK_WEAK);
    e = links_find_child(&l, 0x1000);
    CHECK(e && e->parent == 0x3000 && e->child_coro == 0xd1 && e->kind == LINK_WEAK);
    CHECK(links_find_child(&l, 0x4000) == NULL);
    links_free(&l);
}

static int alive_even(void *arg, uint64_t addr)
{
    (void)arg;
    return (addr / 0x100) % 2 == 0;
}

static void test_prune(void)
{
    links l;
    CHECK(links_init(&l) == 0);
    for (uint64_t i = 1; i <= 5000; i++) links_child(&l, i * 0x100, i, 0x99, 1, LINK_WEAK);
    CHECK(l.c_used == 5000);
    uint64_t before = l.seq + 1;
    links_child(&l, 5001 * 0x100, 1, 0x99, 1, LINK_WEAK);   /* recorded after: kept */
    links_prune(&l, before, alive_even, NULL);
    CHECK(l.c_used == 2501);
    for (uint64_t i = 1; i <= 5001; i++) {
        int want = i % 2 == 0 || i == 5001;
        CHECK((links_find_child(&l, i * 0x100) != NULL) == want);
    }
    links_free(&l);
}

static void test_awaitables(void)
{
    links l;
    CHECK(links_init(&l) == 0);
    uint64_t kids[3] = { 0x10, 0x20, 0x30 };
    links_awaitable(&l, 0xA000, kids, 3, 0);
    links_awaitable(&l, 0xB000, kids, 1, 1);
    CHECK(l.a_used == 2 && l.a_coro == 1);
    const await_link *e = links_find_awaitable(&l, 0xA000);
    CHECK(e && e->n == 3 && e->children[2] == 0x30 && !e->coro);
    links_awaitable(&l, 0xA000, kids + 1, 2, 0);   /* replaced */
    e = links_find_awaitable(&l, 0xA000);
    CHECK(e && e->n == 2 && e->children[0] == 0x20);
    links_awaitable(&l, 0xB000, NULL, 0, 0);       /* forgotten */
    CHECK(links_find_awaitable(&l, 0xB000) == NULL && l.a_coro == 0 && l.a_used == 1);
    /* many keys: growth and deletion keep every other key findable */
    for (uint64_t k = 1; k <= 3000; k++) links_awaitable(&l, k << 12, kids, 1, (int)(k & 1));
    for (uint64_t k = 1; k <= 3000; k += 3) links_awaitable(&l, k << 12, NULL, 0, 0);
    for (uint64_t k = 1; k <= 3000; k++)
        CHECK((links_find_awaitable(&l, k << 12) != NULL) == ((k - 1) % 3 != 0));
    links_free(&l);
}

static void test_running_loops(void)
{
    links l;
    CHECK(links_init(&l) == 0);
    int st;
    links_running_loop(&l, 0x100, 11, 1);
    links_running_loop(&l, 0x200, 12, 0);
    CHECK(links_loop_tid(&l, 0x100, &st) == 11 && st == 1);
    CHECK(links_loop_tid(&l, 0x200, &st) == 12 && st == 0);
    links_running_loop(&l, 0, 11, 0);              /* thread 11 stops its loop */
    CHECK(links_loop_tid(&l, 0x100, &st) == 0 && links_loop_tid(&l, 0x200, &st) == 12);
    links_running_loop(&l, 0x200, 13, 0);          /* the loop moves to another thread */
    CHECK(links_loop_tid(&l, 0x200, &st) == 13 && l.nloops == 1);
    for (int i = 0; i < 2 * LINKS_MAX_LOOPS; i++) links_running_loop(&l, 0x1000 + (uint64_t)i, 100 + i, 1);
    CHECK(l.nloops == LINKS_MAX_LOOPS);
    links_free(&l);
}

int main(void)
{
    RUN(test_child_links);
    RUN(test_prune);
    RUN(test_awaitables);
    RUN(test_running_loops);
    return CHECK_DONE();
}
