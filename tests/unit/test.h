/* Minimal unit-test harness: CHECK macros count assertions; the test exits
 * non-zero if any failed and prints "N passed, N failed". */
#ifndef ML_TEST_H
#define ML_TEST_H

#include <stdio.h>
#include <string.h>
#include <time.h>

static int test_passed, test_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            test_passed++;                                                       \
        } else {                                                                 \
            test_failed++;                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_INT(a, b)                                                          \
    do {                                                                         \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);          \
        if (check_a_ == check_b_) {                                              \
            test_passed++;                                                       \
        } else {                                                                 \
            test_failed++;                                                       \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__,      \
                    __LINE__, #a, check_a_, check_b_);                           \
        }                                                                        \
    } while (0)

#define CHECK_STR(a, b)                                                          \
    do {                                                                         \
        const char *check_a_ = (a), *check_b_ = (b);                             \
        if (check_a_ && check_b_ ? strcmp(check_a_, check_b_) == 0               \
                                 : check_a_ == check_b_) {                       \
            test_passed++;                                                       \
        } else {                                                                 \
            test_failed++;                                                       \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,  \
                    __LINE__, #a, check_a_ ? check_a_ : "(null)",                \
                    check_b_ ? check_b_ : "(null)");                             \
        }                                                                        \
    } while (0)

/* True when haystack contains needle (NULL-safe). */
static inline int test_contains(const char *haystack, const char *needle)
{
    return haystack && needle && strstr(haystack, needle) != NULL;
}

/* Seconds of the monotonic clock since *start. */
static inline double test_seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

#define TEST_RUN(fn)                                                             \
    do {                                                                         \
        int before_ = test_failed;                                               \
        fn();                                                                    \
        fprintf(stderr, "%s %s\n", test_failed == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

#define TEST_END()                                                               \
    do {                                                                         \
        printf("%d passed, %d failed\n", test_passed, test_failed);              \
        return test_failed ? 1 : 0;                                              \
    } while (0)

#endif
