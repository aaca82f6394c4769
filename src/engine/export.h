/* export.h — writers over a profile (profile.h).  Every writer produces the
 * whole file in memory or a temporary file beside the target, then renames it
 * into place: a crash never leaves half a profile under the final name. */
#ifndef STROBE_EXPORT_H
#define STROBE_EXPORT_H

#include <stddef.h>
#include "profile.h"

enum export_format { EXPORT_NONE = 0, EXPORT_PPROF, EXPORT_COLLAPSED };

/* "pprof" / "collapsed" -> format; EXPORT_NONE when unknown. */
enum export_format export_format_from_name(const char *name);
/* From a file name: .pprof .pb.gz .pb -> pprof; .txt .collapsed .folded ->
 * collapsed; EXPORT_NONE when the extension says nothing. */
enum export_format export_format_from_path(const char *path);
const char *export_format_name(enum export_format fmt);

/* Serialise to a malloc'd buffer (*out, *outlen); caller frees.
 * Return 0, or -1 with a one-line reason in err. */
int export_pprof(const profile *p, unsigned char **out, size_t *outlen, char *err, size_t errlen);
int export_collapsed(const profile *p, unsigned char **out, size_t *outlen, char *err, size_t errlen);

/* Serialise in `fmt` and write atomically to `path` (temp file in the same
 * directory + fsync + rename).  Return 0, or -1 with a one-line reason. */
int export_write(const profile *p, enum export_format fmt, const char *path, char *err, size_t errlen);

/* Check, without leaving anything behind, that `path` can be written: its
 * directory exists and accepts a new file.  Return 0, or -1 with a reason. */
int export_check_writable(const char *path, char *err, size_t errlen);

#endif
