/* hash.h — the one 64-bit mixer (a murmur3-style finaliser) that the hash
 * tables and the temp-file names share. */
#ifndef STROBE_HASH_H
#define STROBE_HASH_H
#include <stdint.h>

static inline uint64_t strobe_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}
#endif
