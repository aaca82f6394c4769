/* check.h — the smallest test harness: each CHECK failure prints
 * "FAIL test: file:line: expr", each finished test "PASS test"; main returns
 * the number of failed tests.  tests/run.py counts these lines. */
#ifndef STROBE_CHECK_H
#define STROBE_CHECK_H
#include <stdio.h>

static int check_failed_tests;
static int check_cur_failed;
static const char *check_cur_name;

#define CHECK(expr) do { if (!(expr)) { \
    printf("FAIL %s: %s:%d: %s\n", check_cur_name, __FILE__, __LINE__, #expr); \
    check_cur_failed = 1; } } while (0)

#define RUN(fn) do { check_cur_name = #fn; check_cur_failed = 0; fn(); \
    if (check_cur_failed) check_failed_tests++; else printf("PASS %s\n", #fn); \
    fflush(stdout); } while (0)

#define CHECK_DONE() (check_failed_tests ? 1 : 0)
#endif
