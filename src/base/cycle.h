/* cycle.h — Brent's cycle check for walks along pointer chains (frames,
 * coroutines): O(1) memory, and a loop is found within twice its length
 * plus its distance from the start. */
#ifndef STROBE_CYCLE_H
#define STROBE_CYCLE_H
#include <stdint.h>

typedef struct {
    uint64_t tortoise, power, lam;
} brent;

#define BRENT_INIT { 0, 1, 0 }

/* 1 when `p` closes a loop of the chain seen so far. */
static inline int brent_step(brent *b, uint64_t p)
{
    if (p == b->tortoise) return 1;
    if (++b->lam == b->power) {
        b->tortoise = p;
        b->power <<= 1;
        b->lam = 0;
    }
    return 0;
}
#endif
