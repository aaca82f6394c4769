/* export_write.c — putting a serialised profile under its final name.
 *
 * The bytes go to a temporary file `.NAME.XXXXXX.tmp` in the target's own
 * directory (so rename stays within one file system and is atomic), are
 * fsync'd, and the file is renamed over the target.  Whatever fails, the
 * temporary file is unlinked and the target is untouched: a reader sees the
 * old file or the whole new one, never a part.
 *
 * The temporary file is created by open(O_CREAT | O_EXCL) with mode 0644, so
 * the kernel applies the umask as for any new file (mkstemp would make it
 * 0600, and reading the umask back means changing it, which races with
 * other threads). */
#include "errf.h"
#include "hash.h"
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Longest part of the target's name reused in the temporary name, which must
 * stay within NAME_MAX (255) with the 13 bytes of decoration. */
#define TMP_BASE_MAX 200


/* A path split at its last '/': dir keeps the slash ("" when there is none). */
typedef struct {
    size_t dirlen;       /* path[0..dirlen) is the directory part */
    const char *base;    /* the last component */
} split_path;

static split_path split(const char *path)
{
    const char *slash = strrchr(path, '/');
    split_path s;
    s.dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    s.base = path + s.dirlen;
    return s;
}

/* The directory as something to stat and to print: "." or "/" or "a/b". */
static char *dir_of(const char *path, split_path s)
{
    size_t n = s.dirlen;
    if (n > 1)
        n--; /* drop the trailing slash, except for "/" itself */
    if (n == 0)
        return strdup(".");
    return strndup(path, n);
}


/* Create a new temporary file beside `path`; returns its fd and its name in
 * *tmp (caller frees), or -1 with errno set.  Uniqueness comes from O_EXCL;
 * the random part only makes collisions rare. */
static int create_temp(const char *path, char **tmp)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static unsigned counter; /* races only cost a retry */
    split_path s = split(path);
    size_t blen = strlen(s.base);
    if (blen > TMP_BASE_MAX) {
        blen = TMP_BASE_MAX;
        while (blen > 0 && ((unsigned char)s.base[blen] & 0xC0) == 0x80)
            blen--; /* cut at a UTF-8 character boundary */
    }
    size_t cap = s.dirlen + 1 + blen + 1 + 6 + 4 + 1;
    char *name = malloc(cap);
    if (!name) {
        errno = ENOMEM;
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed = strobe_mix64(((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
                          ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)name);
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t r = strobe_mix64(seed + ++counter);
        char rnd[7];
        for (int i = 0; i < 6; i++) {
            rnd[i] = alphabet[r % 62];
            r /= 62;
        }
        rnd[6] = '\0';
        snprintf(name, cap, "%.*s.%.*s.%s.tmp", (int)s.dirlen, path, (int)blen, s.base, rnd);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            *tmp = name;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(name);
    errno = e;
    return -1;
}

static int write_all(int fd, const unsigned char *data, size_t len)
{
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Write data to path atomically (see the top of the file). */
static int write_atomic(const char *path, const unsigned char *data, size_t len,
                        char *err, size_t errlen)
{
    split_path s = split(path);
    if (*path == '\0') {
        strobe_errf(err, errlen, "cannot write the profile: the output path is empty");
        return -1;
    }
    if (*s.base == '\0') {
        strobe_errf(err, errlen, "cannot write %s: %s", path, strerror(EISDIR));
        return -1;
    }
    char *tmp = NULL;
    int fd = create_temp(path, &tmp);
    if (fd < 0) {
        int e = errno;
        char *dir = dir_of(path, s);
        strobe_errf(err, errlen, "cannot write %s: cannot create a file in %s: %s", path,
                dir ? dir : "its directory", strerror(e));
        free(dir);
        return -1;
    }
    const char *step = NULL;
    if (write_all(fd, data, len))
        step = "write";
    else if (fsync(fd))
        step = "fsync";
    int e = errno;
    if (close(fd) && !step) {
        step = "close";
        e = errno;
    }
    if (!step && rename(tmp, path)) {
        step = "rename";
        e = errno;
    }
    if (step) {
        unlink(tmp);
        free(tmp);
        strobe_errf(err, errlen, "cannot write %s: %s failed: %s", path, step, strerror(e));
        return -1;
    }
    free(tmp);
    /* Make the rename itself durable; the file is in place whatever happens. */
    char *dir = dir_of(path, s);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    return 0;
}

int export_write(const profile *p, enum export_format fmt, const char *path, char *err,
                 size_t errlen)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int rc;
    switch (fmt) {
    case EXPORT_PPROF:
        rc = export_pprof(p, &data, &len, err, errlen);
        break;
    case EXPORT_COLLAPSED:
        rc = export_collapsed(p, &data, &len, err, errlen);
        break;
    default:
        strobe_errf(err, errlen, "cannot write %s: unknown output format", path);
        return -1;
    }
    if (rc)
        return -1;
    rc = write_atomic(path, data, len, err, errlen);
    free(data);
    return rc;
}

int export_check_writable(const char *path, char *err, size_t errlen)
{
    if (!path || *path == '\0') {
        strobe_errf(err, errlen, "the output path is empty");
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            strobe_errf(err, errlen, "cannot write %s: %s", path, strerror(EISDIR));
            return -1;
        }
        if (access(path, W_OK) != 0) {
            strobe_errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            return -1;
        }
    } else if (errno != ENOENT) {
        strobe_errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    split_path s = split(path);
    if (*s.base == '\0') {
        strobe_errf(err, errlen, "cannot write %s: %s", path, strerror(EISDIR));
        return -1;
    }
    char *dir = dir_of(path, s);
    if (!dir) {
        strobe_errf(err, errlen, "cannot write %s: %s", path, strerror(ENOMEM));
        return -1;
    }
    int rc = -1;
    if (stat(dir, &st) != 0) {
        strobe_errf(err, errlen, "cannot write %s: directory %s: %s", path, dir, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        strobe_errf(err, errlen, "cannot write %s: %s is not a directory", path, dir);
    } else {
        char *tmp = NULL;
        int fd = create_temp(path, &tmp);
        if (fd < 0) {
            strobe_errf(err, errlen, "cannot write %s: cannot create a file in %s: %s", path, dir,
                    strerror(errno));
        } else {
            close(fd);
            unlink(tmp);
            free(tmp);
            rc = 0;
        }
    }
    free(dir);
    return rc;
}
