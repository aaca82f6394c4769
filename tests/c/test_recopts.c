/* test_recopts.c — the `record` option parser and output resolution. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "export.h"
#include "recopts.h"
#include "sampler.h"

#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, err, ...) recopts_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (err), sizeof(err))

static void test_defaults(void)
{
    record_opts o;
    char err[256];
    CHECK(PARSE(&o, err, "--", "python", "app.py") == 0);
    CHECK(o.rate_hz == 100 && o.mode == SAMPLER_WALL && o.max_depth == 512);
    CHECK(o.duration_s == 0 && !o.output && !o.format && o.first_arg == 1);
    CHECK(o.sampler_cpu_any == 0);   /* follow */
}

static void test_forms(void)
{
    record_opts o;
    char err[256];
    CHECK(PARSE(&o, err, "-o", "a.txt", "-r", "250", "--mode=cpu", "--max-depth", "7", "-d2.5",
                "--format=collapsed", "python", "-c", "pass") == 0);
    CHECK(!strcmp(o.output, "a.txt") && o.rate_hz == 250 && o.mode == SAMPLER_CPU);
    CHECK(o.max_depth == 7 && o.duration_s == 2.5 && !strcmp(o.format, "collapsed"));
    CHECK(o.first_arg == 9);
    CHECK(PARSE(&o, err, "--output=x.pprof", "--rate=10000", "prog") == 0 && o.rate_hz == 10000);
    CHECK(PARSE(&o, err, "-h") == 0 && o.help && o.first_arg == 1);
    CHECK(PARSE(&o, err, "--sampler-cpu", "any", "prog") == 0 && o.sampler_cpu_any == 1);
    CHECK(PARSE(&o, err, "--sampler-cpu=follow", "prog") == 0 && o.sampler_cpu_any == 0);
}

static void test_errors(void)
{
    record_opts o;
    char err[256];
    CHECK(PARSE(&o, err, "--bogus", "python") == -1 && strstr(err, "--bogus"));
    CHECK(PARSE(&o, err, "-f", "json", "python") == -1 && strstr(err, "json"));
    CHECK(PARSE(&o, err, "-r", "0", "python") == -1 && strstr(err, "--rate"));
    CHECK(PARSE(&o, err, "-r", "-5", "python") == -1);
    CHECK(PARSE(&o, err, "-r", "10001", "python") == -1);
    CHECK(PARSE(&o, err, "-r", "fast", "python") == -1 && strstr(err, "number"));
    CHECK(PARSE(&o, err, "-r", "nan", "python") == -1);
    CHECK(PARSE(&o, err, "--mode", "gpu", "python") == -1 && strstr(err, "gpu"));
    CHECK(PARSE(&o, err, "--max-depth", "2.5", "python") == -1);
    CHECK(PARSE(&o, err, "--max-depth", "0", "python") == -1);
    CHECK(PARSE(&o, err, "-o") == -1 && strstr(err, "needs a value"));
    CHECK(PARSE(&o, err, "-d", "0", "python") == -1);
    CHECK(PARSE(&o, err, "--sampler-cpu", "idle", "python") == -1 && strstr(err, "idle"));
}

static void test_output(void)
{
    record_opts o;
    char err[256], path[PATH_MAX], cwd[PATH_MAX];
    int fmt = 0;
    char dir[] = "/tmp/strobe-recopts-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);

    CHECK(PARSE(&o, err, "python") == 0);
    CHECK(recopts_output(&o, 4242, path, sizeof path, &fmt, err, sizeof err) == 0);
    CHECK(fmt == EXPORT_PPROF && strstr(path, "/strobe-4242.pprof") && path[0] == '/');

    CHECK(PARSE(&o, err, "-f", "collapsed", "python") == 0);
    CHECK(recopts_output(&o, 7, path, sizeof path, &fmt, err, sizeof err) == 0);
    CHECK(fmt == EXPORT_COLLAPSED && strstr(path, "/strobe-7.txt"));

    CHECK(PARSE(&o, err, "-o", "out.collapsed", "python") == 0);
    CHECK(recopts_output(&o, 1, path, sizeof path, &fmt, err, sizeof err) == 0 && fmt == EXPORT_COLLAPSED);
    CHECK(PARSE(&o, err, "-o", "out.pb.gz", "python") == 0);
    CHECK(recopts_output(&o, 1, path, sizeof path, &fmt, err, sizeof err) == 0 && fmt == EXPORT_PPROF);
    CHECK(PARSE(&o, err, "-o", "noext", "python") == 0);
    CHECK(recopts_output(&o, 1, path, sizeof path, &fmt, err, sizeof err) == 0 && fmt == EXPORT_PPROF);
    CHECK(PARSE(&o, err, "-o", "out.txt", "-f", "pprof", "python") == 0);
    CHECK(recopts_output(&o, 1, path, sizeof path, &fmt, err, sizeof err) == 0 && fmt == EXPORT_PPROF);
    CHECK(PARSE(&o, err, "-o", "out.json", "python") == 0);
    CHECK(recopts_output(&o, 1, path, sizeof path, &fmt, err, sizeof err) == -1 && strstr(err, "out.json"));
    CHECK(PARSE(&o, err, "-o", "/nonexistent-dir/x.pprof", "python") == 0);
    CHECK(recopts_output(&o, 1, path, sizeof path, &fmt, err, sizeof err) == -1 && strstr(err, "nonexistent"));

    CHECK(chdir(cwd) == 0);
    CHECK(rmdir(dir) == 0);   /* nothing was left behind by the checks */
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_forms);
    RUN(test_errors);
    RUN(test_output);
    return CHECK_DONE();
}
