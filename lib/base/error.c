#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

ml__errno_text ml__strerror(int errnum)
{
    ml__errno_text t;
    /* _POSIX_C_SOURCE gives the XSI strerror_r, which returns an int. */
    if (strerror_r(errnum, t.text, sizeof(t.text)) != 0)
        snprintf(t.text, sizeof(t.text), "error %d", errnum);
    return t;
}

/* The bottom of the library: formats on its own, so that every other
 * module (util.c included) may report errors. */
static char *vformat(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *out = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (out && vsnprintf(out, (size_t)n + 1, fmt, again) != n) {
        free(out);
        out = NULL;
    }
    va_end(again);
    return out;
}

static char *format(const char *fmt, ...) ML__PRINTF(1, 2);
static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = vformat(fmt, ap);
    va_end(ap);
    return out;
}

static void replace(char **field, const char *value)
{
    char *copy = value ? format("%s", value) : NULL;
    if (value && !copy)
        return; /* out of memory: the error keeps its older detail */
    free(*field);
    *field = copy;
}

/* Out of memory while reporting: a static error keeps the code reachable. */
static ml_error oom_error = {ML_ENOMEM, (char *)"out of memory", 0, NULL, NULL, 0, 0, 0, 0, NULL};

static bool is_static(const ml_error *e) { return e == &oom_error; }

int ml__error_set(ml_error **err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    ml_error_free(*err);
    *err = NULL;
    ml_error *e = calloc(1, sizeof(*e));
    va_list ap;
    va_start(ap, fmt);
    char *msg = e ? vformat(fmt, ap) : NULL;
    va_end(ap);
    if (!e || !msg) {
        free(e);
        free(msg);
        *err = &oom_error;
        return code;
    }
    e->code = code;
    e->message = msg;
    *err = e;
    return code;
}

int ml__error_prefix(ml_error **err, int fallback, const char *fmt, ...)
{
    if (!err || !*err)
        return fallback;
    ml_error *e = *err;
    if (is_static(e))
        return e->code;
    va_list ap;
    va_start(ap, fmt);
    char *context = vformat(fmt, ap);
    va_end(ap);
    char *msg = context ? format("%s: %s", context, e->message) : NULL;
    free(context);
    if (msg) {
        free(e->message);
        e->message = msg;
    }
    return e->code;
}

void ml__error_set_location(ml_error **err, const char *file, int line, int column)
{
    if (!err || !*err || is_static(*err))
        return;
    replace(&(*err)->file, file);
    (*err)->line = line;
    (*err)->column = column;
}

int ml__error_locate(ml_error **err, int rc, const char *file, int line, int column)
{
    if (rc == ML_OK || rc == ML_ENOMEM || line <= 0 || !file)
        return rc;
    ml__error_prefix(err, rc, "%s:%d:%d", file, line, column);
    ml__error_set_location(err, file, line, column);
    return rc;
}

void ml__error_set_ref(ml_error **err, const char *ref)
{
    if (err && *err && !is_static(*err))
        replace(&(*err)->ref, ref);
}

void ml__error_set_http(ml_error **err, int status, const char *registry_code)
{
    if (!err || !*err || is_static(*err))
        return;
    (*err)->http_status = status;
    replace(&(*err)->registry_code, registry_code);
}

int ml__error_copy(ml_error **dst, const ml_error *src)
{
    int code = ml__error_set(dst, ml_error_code(src), "%s", ml_error_message(src));
    ml__error_set_http(dst, ml_error_http_status(src), ml_error_registry_code(src));
    if (dst && *dst && !is_static(*dst) && src) {
        (*dst)->hints = src->hints;
        (*dst)->auth_reason = src->auth_reason;
    }
    ml__error_set_ref(dst, ml_error_ref(src));
    return code;
}

int ml__error_hint(ml_error **err, int fallback, uint32_t hints)
{
    if (!err || !*err)
        return fallback;
    if (!is_static(*err))
        (*err)->hints |= hints;
    return (*err)->code;
}

int ml_error_code(const ml_error *err) { return err ? err->code : ML_OK; }
const char *ml_error_message(const ml_error *err) { return err ? err->message : ""; }
int ml_error_http_status(const ml_error *err) { return err ? err->http_status : 0; }
const char *ml_error_registry_code(const ml_error *err) { return err ? err->registry_code : NULL; }
const char *ml_error_file(const ml_error *err) { return err ? err->file : NULL; }
int ml_error_line(const ml_error *err) { return err ? err->line : 0; }
int ml_error_column(const ml_error *err) { return err ? err->column : 0; }
uint32_t ml_error_hints(const ml_error *err) { return err ? err->hints : 0; }
int ml_error_auth_reason(const ml_error *err) { return err ? err->auth_reason : 0; }
const char *ml_error_ref(const ml_error *err) { return err ? err->ref : NULL; }

static const char *auth_reason_text(int reason)
{
    switch (reason) {
    case ML_AUTH_NO_CREDENTIALS: return "no credentials found";
    case ML_AUTH_REJECTED: return "the credentials were rejected";
    case ML_AUTH_DENIED: return "authenticated, but access is denied";
    default: return NULL;
    }
}

int ml__error_auth(ml_error **err, int fallback, int reason, const char *detail)
{
    const char *why = auth_reason_text(reason);
    if (!err || !*err || !why)
        return err && *err ? (*err)->code : fallback;
    ml_error *e = *err;
    if (is_static(e) || e->auth_reason)
        return e->code;
    char *msg = format("%s (%s%s%s)", e->message, why, detail ? "; " : "", detail ? detail : "");
    if (msg) {
        free(e->message);
        e->message = msg;
    }
    e->auth_reason = reason;
    if (reason == ML_AUTH_NO_CREDENTIALS)
        e->hints |= ML_HINT_CREDENTIALS;
    return e->code;
}

void ml_error_free(ml_error *err)
{
    if (!err || is_static(err))
        return;
    free(err->message);
    free(err->registry_code);
    free(err->file);
    free(err->ref);
    free(err);
}
