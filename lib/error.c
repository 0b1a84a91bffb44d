#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

static char *vformat(const char *fmt, va_list ap)
{
    ml__buf b = {0};
    ml__buf_vprintf(&b, fmt, ap);
    return ml__buf_take(&b);
}

/* Out of memory while reporting: a static error keeps the code reachable. */
static ml_error oom_error = {ML_ENOMEM, (char *)"out of memory", 0, NULL, NULL, 0, 0, 0};

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
    ml__buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    ml__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    ml__buf_puts(&b, ": ");
    ml__buf_puts(&b, e->message);
    char *msg = ml__buf_take(&b);
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
    ml__str_replace(&(*err)->file, file);
    (*err)->line = line;
    (*err)->column = column;
}

void ml__error_set_http(ml_error **err, int status, const char *registry_code)
{
    if (!err || !*err || is_static(*err))
        return;
    (*err)->http_status = status;
    ml__str_replace(&(*err)->registry_code, registry_code);
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

void ml_error_free(ml_error *err)
{
    if (!err || is_static(err))
        return;
    free(err->message);
    free(err->registry_code);
    free(err->file);
    free(err);
}
