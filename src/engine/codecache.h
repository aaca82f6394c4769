/* codecache.h — code object address -> what the profile needs (function id,
 * line table), validated on every lookup so that a code object freed and
 * replaced by another at the same address is never mistaken for it.
 *
 * Validation (one batched read per lookup): the code header's identifying
 * fields (name, qualname, filename and line-table pointers, first line, arg
 * count, flags) must equal the cached ones, and a 64-byte window of each of
 * the four objects they point to (type, length, hash, state, first bytes —
 * everything but the reference count) must equal the snapshot taken when
 * the entry was made.  A pointer reused by a different string or table
 * therefore fails validation and the entry is rebuilt.
 *
 * 3.12+ numbers every code object it creates (co_version, from a counter
 * that never goes back: 0 once it runs out).  There the header alone says
 * whether the object is still the one cached — a new object at the same
 * address has another number — and it is read through the pass's page
 * snapshots, so a steady program's validations cost no system call at all.
 *
 * Better: 3.12+ takes that number from a counter that moves only when a
 * code object (or a function version) is made, and the sampler reads it at
 * the start of each pass, after every page it prefetched.  An entry
 * validated while the counter had the value it still has is confirmed with
 * no read at all (codecache_confirm), for frames read from page copies taken
 * before the counter was read.  A validation is stamped with the counter as
 * read at the start of the pass before (every read of this pass, page copy
 * or not, is later than that): had a different code object taken the
 * entry's address since, it would have been made after that read and
 * before the frames' copies, and the counter would have moved.  What this gives up: a frame read torn, whose code pointer names a
 * code object freed since (and not replaced), is named after that object
 * instead of failing validation; such a frame ran on the thread moments
 * before.
 */
#ifndef STROBE_CODECACHE_H
#define STROBE_CODECACHE_H

#include <stddef.h>
#include <stdint.h>
#include "layout.h"
#include "mem.h"
#include "profile.h"

#define CC_WINDOW 64
#define CC_NOBJ 4     /* name, qualname, filename, linetable */

typedef struct {
    uint64_t code;                    /* key; 0 = empty slot */
    uint64_t obj[CC_NOBJ];            /* pointers read from the code object */
    int32_t firstlineno, argcount, flags, firsttraceable;
    uint32_t version;                 /* co_version (3.12+), 0 when there is none */
    int32_t framesize;                /* words its frame takes on a thread's data stack (3.11+), else 0 */
    uint32_t epoch;                   /* the code counter when last validated (if epoch_ok) */
    uint8_t epoch_ok;
    uint8_t snap[CC_NOBJ][CC_WINDOW]; /* windows of obj[i] at offset 8 */
    uint32_t function;                /* profile function id */
    uint64_t checked;                 /* mem pass (mem_target.gen) it was last validated in */
    uint64_t looked;                  /* mem pass it was last looked up in */
    uint32_t build_id;                /* changes whenever the entry is (re)built */
    uint8_t *linetable;
    uint32_t linetable_len;
} code_info;

typedef struct {
    code_info *slots;
    uint32_t cap;       /* power of two */
    uint32_t used;
    uint32_t max_entries;
    mem_target *mem;
    const strobe_layout *L;
    profile *prof;
    uint64_t hits, misses, invalidations, failures;
    uint64_t batched;   /* entries validated by codecache_next_pass */
    uint64_t unchanged; /* confirmed with no read: no code object made since validated */
    uint32_t epoch;     /* the code counter at the start of this pass */
    int epoch_ok;       /* ... read, and not 0 */
    uint32_t epoch_prev;   /* ... and of the pass before: what a validation */
    int epoch_prev_ok;     /* made in this pass is stamped with */
    /* Codes looked up in this pass and the one before (at most CC_MAX_USED). */
    struct cc_batch *batch;   /* codecache_next_pass's buffers */
    uint64_t *recent, *recent_prev;
    uint32_t nrecent, nrecent_prev;
    uint32_t builds;
    /* Versions without co_qualname (3.8–3.10): functions interned under
     * co_name, waiting for a qualified name from the module (which can ask
     * the live function objects; see sampler_qualify). */
    uint64_t *pend_code;
    uint32_t *pend_fid;
    size_t npend, pend_cap;
} codecache;

#define CC_MAX_PENDING 65536
#define CC_MAX_CODE_HDR 512
#define CC_BATCH (MEM_MAX_IOV / (1 + CC_NOBJ))   /* code objects per batched read */
struct cc_batch {
    uint8_t hdr[CC_BATCH][CC_MAX_CODE_HDR];
    uint8_t win[CC_BATCH][CC_NOBJ][CC_WINDOW];
};
#define CC_MAX_USED 4096

int codecache_init(codecache *c, mem_target *m, const strobe_layout *L, profile *p);
void codecache_free(codecache *c);
/* Drop every entry (e.g. after profile_reset: function ids are gone). */
void codecache_clear(codecache *c);

/* Validated info for the code object at `code`, or NULL when it cannot be
 * read or is not a code object.  The pointer is valid until the next call.
 * An entry is validated once per mem pass (mem_cache_drop starts one): within
 * a pass every read sees the same page snapshots anyway. */
const code_info *codecache_lookup(codecache *c, uint64_t code);

/* `code`'s entry when it is known valid in this pass without a read
 * (validated in this pass, or vouched for by the code counter:
 * codecache_confirm's rule), else NULL.  Never reads, counts nothing. */
const code_info *codecache_peek(codecache *c, uint64_t code);

/* Start of a pass (right after mem_cache_next_pass): validate, in as few
 * system calls as possible (up to 51 code objects per call), every entry the
 * previous pass looked up, so that a steady program's lookups are hits with
 * no read.  Entries that fail or are not read are validated by their next
 * lookup as before. */
void codecache_next_pass(codecache *c);

/* The code counter's value at the start of this pass (ok: it was read, after
 * the pass's prefetched pages, and is not 0).  Before any lookup. */
void codecache_set_epoch(codecache *c, uint32_t counter, int ok);
/* `code`'s entry, when validated at this counter value, is valid this pass:
 * only for a code pointer read from page copies taken before the counter.
 * 1 when confirmed, 0 when its lookup must validate it as usual. */
int codecache_confirm(codecache *c, uint64_t code);

/* Before looking up many codes at once (frames read from the target's
 * memory in this pass): confirm with no read those an unchanged code
 * counter vouches for (counter_same: the counter, read after every one of
 * these frames, still has this pass's starting value), and validate the
 * other known entries in a few batched reads.  Unknown codes are left to
 * their lookup. */
void codecache_check_many(codecache *c, const uint64_t *codes, size_t n, int counter_same);

/* Line of the instruction at byte offset addr (clamped to firstlineno when
 * the table has no answer). */
int codecache_line(const codecache *c, const code_info *ci, int64_t addr);

#endif
