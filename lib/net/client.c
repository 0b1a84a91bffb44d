#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "client.h"
#include "fileio.h"
#include "init.h"

#define DEFAULT_CONCURRENCY 8
#define DEFAULT_RETRIES 3
#define DEFAULT_TIMEOUT_MS 30000
#define MAX_CONCURRENCY 64
#define BYTES_EVENT_MS 200

/* A caller built against version 1 has the struct without cache_dir, one
 * against version 2 without progress_event and certs_dirs. */
static const size_t OPTIONS_SIZES[] = {offsetof(ml_client_options, cache_dir),
                                       offsetof(ml_client_options, progress_event), sizeof(ml_client_options)};
static const ml__options_kind OPTIONS = {"ml_client_options", ML_CLIENT_OPTIONS_VERSION, OPTIONS_SIZES,
                                         ML_CLIENT_INSECURE | ML_CLIENT_PLAIN_HTTP | ML_CLIENT_RESOLVE_ONCE};

int ml_client_options_init(ml_client_options *opts, uint32_t version)
{
    if (!opts || version == 0 || version > ML_CLIENT_OPTIONS_VERSION)
        return ML_EINVAL;
    memset(opts, 0, OPTIONS_SIZES[version - 1]);
    opts->version = version;
    return ML_OK;
}

void ml__client_log(const ml_client *c, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ml__log_v(c->log, c->log_payload, level, fmt, ap);
    va_end(ap);
}

static uint32_t or_default(uint32_t v, uint32_t def) { return v ? v : def; }

void ml__client_step(ml_client *c, const char *step, size_t total)
{
    pthread_mutex_lock(&c->progress_lock);
    c->step = step;
    c->step_done = 0;
    c->step_total = total;
    if (c->progress && total)
        c->progress(step, 0, total, c->progress_payload);
    pthread_mutex_unlock(&c->progress_lock);
}

void ml__client_bytes(ml_client *c, uint64_t done, uint64_t total)
{
    pthread_mutex_lock(&c->progress_lock);
    if (c->progress)
        c->progress("copy bytes", done, total, c->progress_payload);
    pthread_mutex_unlock(&c->progress_lock);
}

void ml__client_blob_track(ml__blob_progress *p, ml_client *c, const ml_ref *image, const char *digest,
                           int64_t size)
{
    *p = (ml__blob_progress){.client = c, .digest = digest, .total = size > 0 ? (uint64_t)size : 0,
                             .start_ms = ml__now_ms()};
    if (c->progress_event)
        p->image = ml__ref_format(image); /* NULL on ENOMEM: events then go without it */
}

void ml__client_blob_event(ml__blob_progress *p, uint32_t kind, uint64_t done)
{
    ml_client *c = p->client;
    if (!c->progress_event)
        return;
    /* Bytes arrive per network chunk: a few events a second are plenty. */
    uint64_t now = ml__now_ms();
    if (kind == ML_PROGRESS_BYTES && now - p->last_bytes_ms < BYTES_EVENT_MS)
        return;
    if (kind == ML_PROGRESS_BYTES)
        p->last_bytes_ms = now;
    ml_progress_event ev = {ML_PROGRESS_EVENT_VERSION, kind, p->image ? p->image : "", p->digest, done,
                            p->total, now - p->start_ms};
    /* Copies of lists that share the client report from several threads. */
    pthread_mutex_lock(&c->progress_lock);
    c->progress_event(&ev, c->progress_event_payload);
    pthread_mutex_unlock(&c->progress_lock);
}

void ml__client_blob_untrack(ml__blob_progress *p)
{
    free(p->image);
    p->image = NULL;
}

uint32_t ml__client_timeout_ms(const ml_client *c) { return c->timeout_ms; }
uint32_t ml__client_retries(const ml_client *c) { return c->retries; }
const char *ml__client_cache_dir(const ml_client *c) { return c->cache_dir; }
ml__memo *ml__client_resolved(ml_client *c) { return c->resolved; }

static void request_finished(void *payload)
{
    ml_client *c = payload;
    pthread_mutex_lock(&c->progress_lock);
    if (c->progress && c->step && c->step_done < c->step_total)
        c->progress(c->step, ++c->step_done, c->step_total, c->progress_payload);
    pthread_mutex_unlock(&c->progress_lock);
}

/* The TLS library opens it blocking, at the first connection: a FIFO
 * there would hang that. */
static int check_ca_cert(const char *path, ml_error **err)
{
    ml_error *why = NULL;
    int fd;
    if (ml__open_regular(path, &fd, &why) == ML_OK) {
        close(fd);
        return ML_OK;
    }
    ml__error_set(err, ML_EINVAL, "CA certificate file %s", ml_error_message(why));
    ml_error_free(why);
    return ML_EINVAL;
}

int ml_client_new(ml_client **out, const ml_client_options *opts, ml_error **err)
{
    if (!out)
        return ml__error_set(err, ML_EINVAL, "ml_client_new: out is NULL");
    *out = NULL;
    ml_client_options o = ML_CLIENT_OPTIONS_INIT;
    if (ml__options_read(&OPTIONS, opts, &o, err) != ML_OK)
        return ML_EINVAL;
    if (o.ca_cert && check_ca_cert(o.ca_cert, err) != ML_OK)
        return ML_EINVAL;
    if (ml__init() != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "libcurl initialisation failed");
    ml_client *c = calloc(1, sizeof(*c));
    if (!c)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->progress_lock, NULL);
    c->flags = o.flags;
    c->concurrency = or_default(o.concurrency, DEFAULT_CONCURRENCY);
    if (c->concurrency > MAX_CONCURRENCY)
        c->concurrency = MAX_CONCURRENCY;
    c->log = o.log;
    c->log_payload = o.log_payload;
    c->credentials = o.credentials;
    c->credentials_payload = o.credentials_payload;
    c->progress = o.progress;
    c->progress_payload = o.progress_payload;
    c->progress_event = o.progress_event;
    c->progress_event_payload = o.progress_event_payload;
    if ((o.username && !(c->username = ml__strdup(o.username))) ||
        (o.password && !(c->password = ml__strdup(o.password))) ||
        (o.auth_file && !(c->auth_file = ml__strdup(o.auth_file))) ||
        (o.docker_config_dir && !(c->docker_config_dir = ml__strdup(o.docker_config_dir))) ||
        (o.cache_dir && !(c->cache_dir = ml__strdup(o.cache_dir))) ||
        (o.certs_dirs && !(c->certs_dirs = ml__strdup(o.certs_dirs))) ||
        ((o.flags & ML_CLIENT_RESOLVE_ONCE) && !(c->resolved = ml__memo_new()))) {
        ml_client_free(c);
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    ml__http_opts ho = {
        .concurrency = c->concurrency,
        .retries = o.retries == UINT32_MAX ? 0 : or_default(o.retries, DEFAULT_RETRIES),
        .timeout_ms = or_default(o.timeout_ms, DEFAULT_TIMEOUT_MS),
        .insecure = (o.flags & ML_CLIENT_INSECURE) != 0,
        .ca_cert = o.ca_cert,
        .user_agent = o.user_agent,
        .log = o.log,
        .log_payload = o.log_payload,
        .finished = request_finished,
        .finished_payload = c,
    };
    c->retries = ho.retries;
    c->timeout_ms = ho.timeout_ms;
    int rc = ml__http_new(&c->http, &ho, err);
    if (rc != ML_OK) {
        ml_client_free(c);
        return rc;
    }
    *out = c;
    return ML_OK;
}

static void host_free(ml__host *h)
{
    if (!h)
        return;
    free(h->name);
    free(h->base);
    ml_error_free(h->unreachable);
    ml__challenge_clear(&h->challenge);
    ml__http_tls_clear(&h->tls);
    ml__cred_clear(&h->cred.cred);
    free(h->authorization);
    ml__scopes_free(&h->token_scopes);
    free(h->refresh_token);
    ml__scopes_free(&h->wanted);
    free(h);
}

ml__host *ml__client_host(ml_client *c, const char *name)
{
    for (size_t i = 0; i < c->host_count; i++)
        if (strcmp(c->hosts[i]->name, name) == 0)
            return c->hosts[i];
    if (ml__grow((void **)&c->hosts, &c->host_cap, c->host_count + 1, sizeof(*c->hosts)) != ML_OK)
        return NULL;
    ml__host *h = calloc(1, sizeof(*h));
    if (!h || !(h->name = ml__strdup(name))) {
        free(h);
        return NULL;
    }
    c->hosts[c->host_count++] = h;
    return h;
}

int ml_credential_set(ml_credential *cred, const char *username, const char *secret, int identity_token)
{
    if (!cred || !secret)
        return ML_EINVAL;
    ml__cred copy = {.username = ml__strdup(username ? username : "<token>"), .secret = ml__strdup(secret),
                     .identity_token = identity_token != 0};
    if (!copy.username || !copy.secret) {
        ml__cred_clear(&copy);
        return ML_ENOMEM;
    }
    ml__cred_clear(&cred->cred);
    cred->cred = copy;
    cred->set = true;
    return ML_OK;
}

void ml_client_free(ml_client *c)
{
    if (!c)
        return;
    ml__http_free(c->http);
    for (size_t i = 0; i < c->host_count; i++)
        host_free(c->hosts[i]);
    free(c->hosts);
    for (size_t i = 0; i < c->mount_count; i++)
        free(c->mounts[i].registry);
    free(c->mounts);
    free(c->username);
    free(c->password);
    free(c->auth_file);
    free(c->docker_config_dir);
    free(c->cache_dir);
    free(c->certs_dirs);
    ml__memo_free(c->resolved);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->progress_lock);
    free(c);
}
