/* main.c — the `strobe` command.
 *
 * `strobe record [options] -- PYTHON [ARGS...]` checks everything it can
 * before the program starts (options, output path, that PYTHON exists and is
 * a Python), then replaces itself with PYTHON (execve: the program keeps
 * its pid, stdin/stdout/stderr, signals and exit status).  strobe loads into
 * it through a sitecustomize in strobe's own python/strobe/_boot directory,
 * put first on PYTHONPATH; the configuration travels in STROBE_* variables,
 * which the bootstrap removes again so that child processes are not
 * profiled by accident.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"
#include "recopts.h"
#include "report.h"
#include "sampler.h"

#define STROBE_VERSION "0.1.0"

static const char main_usage[] =
    "usage: strobe COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  record    run a Python program under the profiler and write its profile\n"
    "            (strobe record --help for its options)\n"
    "  report    print where each thread's time went in a profile: wall, CPU,\n"
    "            off-CPU time and its causes (strobe report --help)\n"
    "\n"
    "  strobe --version    print the version\n";

static int user_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "strobe: error: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 2;
}

/* Find `name` as execvp would: a name with a slash as is, else along PATH. */
static int find_program(const char *name, char *out, size_t outlen)
{
    if (strchr(name, '/')) {
        snprintf(out, outlen, "%s", name);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        struct stat st;
        snprintf(out, outlen, "%.*s/%s", (int)len, len ? path : ".", name);
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
        path += len + (colon ? 1 : 0);
        if (!colon) break;
    }
    return -1;
}

/* Does the file contain `needle`?  (Chunked scan, overlap kept.) */
static int file_contains(const char *path, const char *needle)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t nl = strlen(needle);
    char buf[65536];
    size_t keep = 0, total = 0;
    int found = 0;
    for (;;) {
        ssize_t r = read(fd, buf + keep, sizeof buf - keep);
        if (r <= 0) break;
        size_t have = keep + (size_t)r;
        if (memmem(buf, have, needle, nl)) { found = 1; break; }
        keep = have < nl - 1 ? have : nl - 1;
        memmove(buf, buf + have - keep, keep);
        total += (size_t)r;
        if (total > ((size_t)512 << 20)) break;
    }
    close(fd);
    return found;
}

/* Is the executable at `path` a CPython?  Follows "#!" lines (and env) and
 * pyenv's shims; an ELF file must carry CPython's entry point. */
static int is_python(const char *path, int depth, char *real, size_t reallen, char *why, size_t whylen)
{
    char head[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { snprintf(why, whylen, "cannot read it: %s", strerror(errno)); return 0; }
    ssize_t n = read(fd, head, sizeof head - 1);
    close(fd);
    if (n < 4) { snprintf(why, whylen, "it is not a Python interpreter"); return 0; }
    head[n] = 0;
    if (!memcmp(head, "\177ELF", 4)) {
        if (file_contains(path, "Py_BytesMain") || file_contains(path, "Py_Main") ||
            file_contains(path, "_Py_UnixMain")) {
            if (!realpath(path, real)) snprintf(real, reallen, "%s", path);
            return 1;
        }
        snprintf(why, whylen, "it is not a Python interpreter");
        return 0;
    }
    if (head[0] == '#' && head[1] == '!' && depth < 4) {
        char *line = head + 2, *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char *interp = strtok(line, " \t"), *arg = strtok(NULL, " \t");
        char next[PATH_MAX];
        /* pyenv's shim: a shell script that runs "pyenv exec NAME"; ask
         * pyenv which interpreter that is. */
        char script[4096];
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t m = fd >= 0 ? read(fd, script, sizeof script - 1) : -1;
        if (fd >= 0) close(fd);
        char *p = m > 0 ? (script[m] = 0, strstr(script, "libexec/pyenv\" exec")) : NULL;
        if (p) {
            char *q = p;
            while (q > script && q[-1] != '"') q--;
            char cmd[PATH_MAX + 64];
            const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
            snprintf(cmd, sizeof cmd, "'%.*s' which '%s' 2>/dev/null",
                     (int)(p + strlen("libexec/pyenv") - q), q, name);
            FILE *f = popen(cmd, "r");
            if (f) {
                int ok = fgets(next, sizeof next, f) != NULL;
                pclose(f);
                if (ok) {
                    next[strcspn(next, "\n")] = 0;
                    return is_python(next, depth + 1, real, reallen, why, whylen);
                }
            }
        } else if (interp && arg && !strcmp(strrchr(interp, '/') ? strrchr(interp, '/') + 1 : interp, "env")) {
            if (find_program(arg, next, sizeof next) == 0) return is_python(next, depth + 1, real, reallen, why, whylen);
        } else if (interp) {
            return is_python(interp, depth + 1, real, reallen, why, whylen);
        }
    }
    snprintf(why, whylen, "it is not a Python interpreter");
    return 0;
}

/* The X.Y an interpreter's file name says (python3.12 -> 3, 12), if any. */
static int name_version(const char *path, int *major, int *minor)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char tail;
    return sscanf(base, "python%d.%d%c", major, minor, &tail) == 2 ? 0 : -1;
}

/* Is there an extension module for 3.MINOR in the package directory? */
static int have_extension(const char *pkg, int minor)
{
    char prefix[32], dir[PATH_MAX + 16];
    snprintf(prefix, sizeof prefix, "_strobe.cpython-3%d-", minor);
    snprintf(dir, sizeof dir, "%s/strobe", pkg);
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d)))
        found = !strncmp(e->d_name, prefix, strlen(prefix)) && strstr(e->d_name, ".so");
    if (d) closedir(d);
    return found;
}

/* Where strobe's Python package lives: $STROBE_PYTHONPATH, else
 * <dir of this executable>/../python. */
static int package_dir(char *out, size_t outlen)
{
    const char *env = getenv("STROBE_PYTHONPATH");
    if (env && *env) {
        snprintf(out, outlen, "%s", env);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    *slash = 0;
    char up[PATH_MAX + 16], real[PATH_MAX];
    snprintf(up, sizeof up, "%s/../python", exe);
    if (!realpath(up, real)) return -1;
    snprintf(out, outlen, "%s", real);
    return 0;
}

static int set_env_num(const char *k, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v);
    return setenv(k, buf, 1);
}

static int cmd_record(int argc, char **argv)
{
    record_opts o;
    char err[512];
    if (recopts_parse(argc, argv, &o, err, sizeof err) != 0) return user_error("%s", err, "");
    if (o.help) {
        fputs(recopts_usage, stdout);
        return 0;
    }
    if (o.first_arg >= argc)
        return user_error("record needs a program to run: strobe record [options] -- python app.py", "", "");
    char **prog = argv + o.first_arg;
    char exe[PATH_MAX], why[256], real[PATH_MAX];
    if (find_program(prog[0], exe, sizeof exe) != 0)
        return user_error("no such program: %s", prog[0], "");
    if (!is_python(exe, 0, real, sizeof real, why, sizeof why))
        return user_error("cannot profile %s: %s (strobe record -- python app.py)", prog[0], why);
    /* -I, -E and -S make Python skip PYTHONPATH or site: strobe would not load. */
    for (int i = 1; prog[i] && prog[i][0] == '-' && prog[i][1] && prog[i][1] != '-'; i++) {
        const char *a = prog[i];
        if (a[1] == 'c' || a[1] == 'm') break;
        if (a[1] == 'W' || a[1] == 'X') { if (!a[2]) i++; continue; }
        if (strspn(a + 1, "bBdEhiIOPqsSuvVx") == strlen(a + 1) && strpbrk(a + 1, "IES"))
            return user_error("cannot profile a Python started with %s: it ignores the environment "
                              "strobe loads through", a, "");
    }
    char out[PATH_MAX];
    int fmt;
    if (recopts_output(&o, getpid(), out, sizeof out, &fmt, err, sizeof err) != 0)
        return user_error("%s", err, "");

    char pkg[PATH_MAX], boot[PATH_MAX + 32];
    if (package_dir(pkg, sizeof pkg) != 0)
        return user_error("cannot find strobe's Python package (set STROBE_PYTHONPATH)", "", "");
    snprintf(boot, sizeof boot, "%s/strobe/_boot", pkg);
    if (access(boot, R_OK) != 0)
        return user_error("strobe's Python package is incomplete: %s is missing", boot, "");
    int major, minor;
    if (name_version(real, &major, &minor) == 0) {
        char ver[32];
        snprintf(ver, sizeof ver, "%d.%d", major, minor);
        if (major != 3 || minor < 8 || minor > 13)
            return user_error("cannot profile %s: Python %s is not supported (strobe supports 3.8 to 3.13)",
                              prog[0], ver);
        if (!have_extension(pkg, minor))
            return user_error("strobe was not built for Python %s (run make with that interpreter "
                              "installed under pyenv)", ver, "");
    }

    const char *old = getenv("PYTHONPATH");
    size_t pplen = strlen(boot) + strlen(pkg) + (old ? strlen(old) : 0) + 4;
    char *pp = malloc(pplen);
    if (!pp) return user_error("out of memory", "", "");
    snprintf(pp, pplen, "%s:%s%s%s", boot, pkg, old && *old ? ":" : "", old && *old ? old : "");
    if (old) setenv("STROBE_ORIG_PYTHONPATH", old, 1);
    else unsetenv("STROBE_ORIG_PYTHONPATH");
    if (setenv("PYTHONPATH", pp, 1) || setenv("STROBE_RECORD", "1", 1) ||
        setenv("STROBE_OUTPUT", out, 1) ||
        setenv("STROBE_FORMAT", export_format_name((enum export_format)fmt), 1) ||
        set_env_num("STROBE_RATE", o.rate_hz) || set_env_num("STROBE_DURATION", o.duration_s) ||
        set_env_num("STROBE_MAX_DEPTH", o.max_depth) || set_env_num("STROBE_MAX_OVERHEAD", o.max_overhead) ||
        setenv("STROBE_MODE", sampler_mode_name(o.mode), 1) ||
        setenv("STROBE_SAMPLER_CPU", o.sampler_cpu_any ? "any" : "follow", 1))
        return user_error("cannot set the environment: %s", strerror(errno), "");
    free(pp);
    fflush(NULL);
    execv(exe, prog);
    return user_error("cannot run %s: %s", exe, strerror(errno));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_usage, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("strobe %s\n", STROBE_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "record")) return cmd_record(argc - 2, argv + 2);
    if (!strcmp(argv[1], "report")) return report_main(argc - 1, argv + 1);
    return user_error("unknown command '%s' (strobe --help lists them)", argv[1], "");
}
