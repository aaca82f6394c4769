/* hash.h — the one 64-bit mixer (a murmur3-style finaliser) that the hash
 * tables and the temp-file names share, and the one hash of byte strings
 * built on it. */
#ifndef STROBE_HASH_H
#define STROBE_HASH_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t strobe_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Word-at-a-time 64-bit hash of a byte string; every byte and the length count. */
static inline uint64_t strobe_hash_bytes(const void *data, size_t len)
{
    const unsigned char *s = data;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)len * 0xc2b2ae3d27d4eb4fULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h ^= w * 0x87c37b91114253d5ULL;
        h = ((h << 31) | (h >> 33)) * 0x4cf5ad432745937fULL;
        s += 8;
        len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, s, len);
        h ^= w * 0x87c37b91114253d5ULL;
        h = ((h << 31) | (h >> 33)) * 0x4cf5ad432745937fULL;
    }
    return strobe_mix64(h);
}
#endif
