#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "init.h"

#define DEFAULT_CONCURRENCY 8
#define DEFAULT_RETRIES 3
#define DEFAULT_TIMEOUT_MS 30000
#define MAX_CONCURRENCY 64

int ml_client_options_init(ml_client_options *opts, uint32_t version)
{
    if (!opts || version == 0 || version > ML_CLIENT_OPTIONS_VERSION)
        return ML_EINVAL;
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return ML_OK;
}

void ml__client_log(const ml_client *c, int level, const char *fmt, ...)
{
    if (!c->log)
        return;
    ml__buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    ml__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *msg = ml__buf_take(&b);
    if (msg)
        c->log(level, msg, c->log_payload);
    free(msg);
}

static uint32_t or_default(uint32_t v, uint32_t def) { return v ? v : def; }

int ml_client_new(ml_client **out, const ml_client_options *opts, ml_error **err)
{
    if (!out)
        return ml__error_set(err, ML_EINVAL, "ml_client_new: out is NULL");
    *out = NULL;
    ml_client_options o = ML_CLIENT_OPTIONS_INIT;
    if (opts) {
        if (opts->version == 0 || opts->version > ML_CLIENT_OPTIONS_VERSION)
            return ml__error_set(err, ML_EINVAL, "ml_client_new: unknown options version %u",
                                 (unsigned)opts->version);
        o = *opts;
    }
    if (ml__init() != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "libcurl initialisation failed");
    ml_client *c = calloc(1, sizeof(*c));
    if (!c)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    c->flags = o.flags;
    c->concurrency = or_default(o.concurrency, DEFAULT_CONCURRENCY);
    if (c->concurrency > MAX_CONCURRENCY)
        c->concurrency = MAX_CONCURRENCY;
    c->log = o.log;
    c->log_payload = o.log_payload;
    ml__http_opts ho = {
        .concurrency = c->concurrency,
        .retries = o.retries == UINT32_MAX ? 0 : or_default(o.retries, DEFAULT_RETRIES),
        .timeout_ms = or_default(o.timeout_ms, DEFAULT_TIMEOUT_MS),
        .insecure = (o.flags & ML_CLIENT_INSECURE) != 0,
        .ca_cert = o.ca_cert,
        .user_agent = o.user_agent,
        .log = o.log,
        .log_payload = o.log_payload,
    };
    int rc = ml__http_new(&c->http, &ho, err);
    if (rc != ML_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return ML_OK;
}

void ml_client_free(ml_client *c)
{
    if (!c)
        return;
    ml__http_free(c->http);
    for (size_t i = 0; i < c->host_count; i++) {
        free(c->hosts[i].name);
        free(c->hosts[i].base);
    }
    free(c->hosts);
    free(c);
}
