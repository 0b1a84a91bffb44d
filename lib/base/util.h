/* Internal helpers: growable strings, string vectors, checked arithmetic. */
#ifndef ML_UTIL_H
#define ML_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Growable NUL-terminated byte buffer. A failed append sets `oom` and makes
 * later appends no-ops, so callers check once at the end. */
typedef struct ml__buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
} ml__buf;

void ml__buf_append(ml__buf *b, const void *data, size_t len);
void ml__buf_puts(ml__buf *b, const char *s);
/* data, then a newline (a PEM file that lacks its last one stays whole). */
void ml__buf_append_line(ml__buf *b, const void *data, size_t len);
void ml__buf_printf(ml__buf *b, const char *fmt, ...) ML__PRINTF(2, 3);
void ml__buf_vprintf(ml__buf *b, const char *fmt, va_list ap);
/* Hands the data to the caller (NULL after oom) and resets the buffer. */
char *ml__buf_take(ml__buf *b);
void ml__buf_free(ml__buf *b);

/* What the library knows of one public options struct; each starts with
 * `uint32_t version` and `uint32_t flags`. */
typedef struct ml__options_kind {
    const char *name;     /* "ml_push_options" */
    uint32_t version;     /* the newest version known */
    const size_t *sizes;  /* the struct's size in each version, [version - 1] */
    uint32_t known_flags;
} ml__options_kind;

/* Copies the caller's `opts` over the defaults in *out, only as far as the
 * caller's version reaches (an older program passes a smaller struct);
 * NULL keeps the defaults. ML_EINVAL naming the struct for version 0, an
 * unknown version, or unknown flag bits. */
int ml__options_read(const ml__options_kind *kind, const void *opts, void *out, ml_error **err);

/* Vector of owned strings. */
typedef struct ml__strvec {
    char **items;
    size_t count;
    size_t cap;
} ml__strvec;

int ml__strvec_push(ml__strvec *v, const char *s);            /* copies s */
int ml__strvec_pushf(ml__strvec *v, const char *fmt, ...) ML__PRINTF(2, 3);
int ml__strvec_push_take(ml__strvec *v, char *s);             /* takes s */
bool ml__strvec_contains(const ml__strvec *v, const char *s);
/* Appends the strings of `src` that `dst` does not hold yet (warnings are
 * said once). ML_OK or ML_ENOMEM. */
int ml__strvec_merge(ml__strvec *dst, const ml__strvec *src);
/* Item i, or NULL when v is NULL or i is out of range (public getters). */
const char *ml__strvec_at(const ml__strvec *v, size_t i);
void ml__strvec_free(ml__strvec *v);

/* Set of strings it does not own (they must outlive it): membership in
 * constant time, where scanning a strvec makes n insertions cost n^2. */
typedef struct ml__strset {
    const char **slots; /* open addressing; NULL is a free slot */
    size_t cap;         /* 0 or a power of two */
    size_t count;
} ml__strset;

/* Adds s unless it is there already; *added tells which (untouched on
 * ML_ENOMEM). */
int ml__strset_add(ml__strset *set, const char *s, bool *added);
bool ml__strset_contains(const ml__strset *set, const char *s);
void ml__strset_free(ml__strset *set);

/* Zeroes n bytes (at p, which may be NULL) that held a secret, with volatile
 * stores: a plain memset before free, or of a dying local, is a dead store
 * the compiler drops. */
void ml__wipe(void *p, size_t n);

char *ml__strdup(const char *s);          /* NULL in, NULL out */
char *ml__strndup(const char *s, size_t n);
char *ml__asprintf(const char *fmt, ...) ML__PRINTF(1, 2);
/* Frees *p and stores a copy of s (NULL allowed); ML_ENOMEM on failure. */
int ml__str_replace(char **p, const char *s);
bool ml__str_eq(const char *a, const char *b); /* NULL-safe */
bool ml__has_prefix(const char *s, const char *prefix);
/* ASCII case-insensitive, whatever the locale (protocol tokens, hosts):
 * a[0..alen) equals b[0..blen); s starts with prefix. */
bool ml__ieq_n(const char *a, size_t alen, const char *b, size_t blen);
bool ml__has_iprefix(const char *s, const char *prefix);

/* Length of the UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or
 * code points past U+10FFFF), 0 when invalid; `left` > 0 bytes remain. */
size_t ml__utf8_sequence(const unsigned char *s, size_t left);
/* Copy of at most `max` bytes of s[0..len) fit to print: text from a
 * registry, a spec or a helper may hold line breaks and terminal escapes.
 * Control characters (C0, DEL, C1) and bytes that are not UTF-8 become
 * '?', "..." marks a cut. Never pass a secret. NULL only when out of
 * memory. */
char *ml__sanitize(const char *s, size_t len, size_t max);
/* Formats, then sanitises the whole text (no cut): for messages that quote
 * such text. NULL only when out of memory. */
char *ml__sanitize_vprintf(const char *fmt, va_list ap);
/* ml__error_set with the message made printable that way: for every
 * message quoting text from outside. Returns `code` (ML_ENOMEM when the
 * message could not be made). */
int ml__error_set_printable(ml_error **err, int code, const char *fmt, ...) ML__PRINTF(3, 4);
int ml__error_vset_printable(ml_error **err, int code, const char *fmt, va_list ap);

/* Overflow-checked size arithmetic: false on overflow. */
bool ml__size_add(size_t a, size_t b, size_t *out);
bool ml__size_mul(size_t a, size_t b, size_t *out);
/* Grows an array of `elem` sized items to hold at least `need` items. */
int ml__grow(void **items, size_t *cap, size_t need, size_t elem);

/* Formats a message and hands it to a log callback (no-op without one). */
void ml__log_v(void (*fn)(int, const char *, void *), void *payload, int level, const char *fmt, va_list ap);

/* A size in IEC units for people: "512 B", "1.5 KiB", "12.0 MiB". */
#define ML__IEC_MAX 16
void ml__format_iec(uint64_t bytes, char buf[ML__IEC_MAX]);

/* Milliseconds of a monotonic clock, for timeouts and backoff. */
uint64_t ml__now_ms(void);
/* Sleeps that long, through signals. */
void ml__sleep_ms(uint32_t ms);

#endif
