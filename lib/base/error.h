/* Internal error helpers: every failure becomes an ml_error with context. */
#ifndef ML_ERROR_H
#define ML_ERROR_H

#include "manifestlist.h"

struct ml_error {
    int code;
    char *message;
    int http_status;
    char *registry_code;
    char *file;
    int line;
    int column;
    uint32_t hints;      /* ML_HINT_* */
    int auth_reason;     /* ML_AUTH_*, or 0 */
    char *ref;           /* the image the error is about, or NULL */
};

#if defined(__GNUC__)
#define ML__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ML__PRINTF(f, a)
#endif

/* Stores a new error in *err (if err is not NULL), replacing any earlier
 * one, and returns `code` so callers can `return ml__error_set(...)`. */
int ml__error_set(ml_error **err, int code, const char *fmt, ...) ML__PRINTF(3, 4);
/* Prepends "context: " to the message of *err; returns the error's code
 * (or `fallback` when err or *err is NULL). */
int ml__error_prefix(ml_error **err, int fallback, const char *fmt, ...) ML__PRINTF(3, 4);
/* strerror(errnum), thread-safe (strerror may share one buffer between
 * threads). The text lives in the returned struct, so it is used within
 * the same full expression: ml__strerror(errno).text as an argument. */
typedef struct ml__errno_text {
    char text[128];
} ml__errno_text;
ml__errno_text ml__strerror(int errnum);
/* *dst becomes a copy of src (message, code, HTTP status, hints, auth
 * reason, reference); returns the code. */
int ml__error_copy(ml_error **dst, const ml_error *src);
/* Attaches a source location (spec file, 1-based line and column). */
void ml__error_set_location(ml_error **err, const char *file, int line, int column);
/* Prefixes "FILE:LINE:COL" to the message and records the location; a
 * line of 0 (no location known) leaves the error as it is. Returns rc. */
int ml__error_locate(ml_error **err, int rc, const char *file, int line, int column);
/* Names the image reference the error is about. */
void ml__error_set_ref(ml_error **err, const char *ref);
/* Attaches the registry's HTTP status and error code (may be NULL). */
void ml__error_set_http(ml_error **err, int status, const char *registry_code);
/* Adds ML_HINT_* bits: what the caller could do about it, as data (a
 * message never names a CLI flag). Returns the error's code, or
 * `fallback` when there is none. */
int ml__error_hint(ml_error **err, int fallback, uint32_t hints);
/* Records why authentication failed (ML_AUTH_*) and says it in the
 * message, followed by `detail` when not NULL ("(why; detail)"); returns
 * the error's code, or `fallback`. */
int ml__error_auth(ml_error **err, int fallback, int reason, const char *detail);

#endif
