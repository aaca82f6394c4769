/* fuzz_common.h — what the memory fuzz targets (and mkseeds.c, which writes
 * their seed corpora) share: where the fuzz bytes live, the layouts of the
 * real versions with type addresses the bytes can name, and the input
 * format.
 *
 * Input of a memory target:
 *
 *   byte 0      version: fuzz_versions[b % FUZZ_NVERSIONS] (3.8 ... 3.13)
 *   byte 1      flags (bit 0: mem's page cache on; the rest per target)
 *   bytes 2-7   parameters (per target)
 *   bytes 8-    the image: copied to FZ_BASE, the only memory mem may read
 *               (mem_restrict(FZ_BASE, FZ_BASE + its length)).  Its first
 *               words are the roots the target starts from (per target).
 *
 * Pointers in the image are absolute: FZ_BASE + offset.  Type objects are
 * at FZ_TYPE(k), above any image (so never readable): the bytes name a type
 * by its address, as a live object does.  Everything is deterministic: a
 * pointer leaving the image is a failed read whatever is mapped there. */
#ifndef STROBE_FUZZ_COMMON_H
#define STROBE_FUZZ_COMMON_H

#include <stdint.h>
#include <string.h>

#include "aio.h"
#include "layout.h"
#include "layouts.h"

#define FZ_BASE 0x300000000000ull      /* above ASan's shadow, below the libraries */
#define FZ_MAX_IMAGE (1u << 20)
#define FZ_MAP (2u << 20)              /* mapped bytes at FZ_BASE */
#define FZ_TYPES (FZ_BASE + FZ_MAP)    /* type objects: addresses only */
#define FZ_TYPE(k) (FZ_TYPES + 0x100u * (uint64_t)(k))
#define FZ_HDR 8

enum fz_type {
    FT_CODE = 1, FT_FRAME, FT_UNICODE, FT_LONG, FT_CORO, FT_GEN, FT_ASYNCGEN, FT_TYPE,
    FT_CFUNCTION, FT_CMETHOD, FT_METHODDESCR, FT_CLASSMETHODDESCR, FT_WRAPPERDESCR,
    FT_FUNCTION, FT_METHOD, FT_METHODWRAPPER, FT_NONE /* the None object */, FT_TASK,
    FT_FUTUREITER, FT_ASEND, FT_ATHROW, FT_COROWRAPPER, FT_WEAKREF, FT_BYTES, FT_OTHER,
    FT_GIL,
};

/* Version v's layout with its addresses set to the FZ_TYPE()s. */
static inline strobe_layout fz_layout(int v)
{
    const fuzz_version *fv = &fuzz_versions[v];
    strobe_layout L = *fv->L;
    L.frame_type = FZ_TYPE(FT_FRAME);
    L.code_type = FZ_TYPE(FT_CODE);
    L.coro_type = FZ_TYPE(FT_CORO);
    L.gen_type = FZ_TYPE(FT_GEN);
    L.asyncgen_type = FZ_TYPE(FT_ASYNCGEN);
    L.unicode_type = FZ_TYPE(FT_UNICODE);
    L.long_type = FZ_TYPE(FT_LONG);
    L.none_addr = FZ_TYPE(FT_NONE);
    L.gil_addr = FZ_TYPE(FT_GIL);
    L.type_type = FZ_TYPE(FT_TYPE);
    L.cfunction_type = FZ_TYPE(FT_CFUNCTION);
    L.cmethod_type = fv->minor >= 9 ? FZ_TYPE(FT_CMETHOD) : 0;
    L.methoddescr_type = FZ_TYPE(FT_METHODDESCR);
    L.classmethoddescr_type = FZ_TYPE(FT_CLASSMETHODDESCR);
    L.wrapperdescr_type = FZ_TYPE(FT_WRAPPERDESCR);
    L.function_type = FZ_TYPE(FT_FUNCTION);
    L.method_type = FZ_TYPE(FT_METHOD);
    L.methodwrapper_type = FZ_TYPE(FT_METHODWRAPPER);
    return L;
}

/* Version v's asyncio facts, types set, registries not yet. */
static inline strobe_aio fz_aio(int v)
{
    strobe_aio A = *fuzz_versions[v].aio;
    A.enabled = 1;
    A.task_types[0] = FZ_TYPE(FT_TASK);
    A.ntask_types = 1;
    A.futureiter_type = FZ_TYPE(FT_FUTUREITER);
    A.asend_type = FZ_TYPE(FT_ASEND);
    A.athrow_type = FZ_TYPE(FT_ATHROW);
    A.corowrapper_type = FZ_TYPE(FT_COROWRAPPER);
    A.weakref_type = FZ_TYPE(FT_WEAKREF);
    return A;
}

#endif
