/* The client handle: transport, per-registry state (scheme, credentials,
 * tokens), options. */
#ifndef ML_CLIENT_H
#define ML_CLIENT_H

#include <pthread.h>
#include <stdarg.h>

#include "auth.h"
#include "credentials.h"
#include "http.h"
#include "manifestlist.h"
#include "ref.h"
#include "memo.h"

struct ml_credential {
    ml__cred cred;
    bool set;
};

typedef struct ml__host {
    char *name;   /* "localhost:5000" as in references */
    char *base;   /* "https://localhost:5000" once known */
    ml_error *unreachable; /* why finding the base failed, reported once per run */
    bool tls_loaded;
    ml__http_tls tls;     /* its certs.d CAs and client certificate */
    /* authentication, learnt from the first 401 */
    ml__challenge challenge;
    bool cred_loaded;
    ml_credential cred;
    char *authorization;  /* header value in use ("Basic …"/"Bearer …") */
    ml__scopes token_scopes; /* what the current token grants */
    uint64_t token_expiry_ms;
    char *refresh_token;
    ml__scopes wanted;    /* every scope this run has needed so far */
} ml__host;

/* A registry name routed to another store (store.h). */
typedef struct ml__mount {
    char *registry;
    const struct ml__store_ops *ops;
    void *backend;
} ml__mount;

/* Threads may share a client (docs/api.md): the HTTP layer has its own
 * lock; `lock` guards the registry hosts (transport.c), `progress_lock`
 * the step counters. The options never change after ml_client_new. */
struct ml_client {
    ml__http *http;
    pthread_mutex_t lock;
    pthread_mutex_t progress_lock;
    uint32_t flags;       /* ML_CLIENT_* */
    uint32_t concurrency;
    uint32_t retries;     /* also for restarting a broken blob download */
    uint32_t timeout_ms;  /* per request; also the wait for a layout's lock */
    ml_log_fn log;
    void *log_payload;
    char *username;       /* explicit credentials (copies) */
    char *password;
    char *auth_file;
    char *docker_config_dir;
    char *cache_dir;      /* config platforms (cache.h), or NULL */
    char *certs_dirs;     /* certs.d directories (certs.h), or NULL */
    ml_credential_fn credentials;
    void *credentials_payload;
    ml_progress_fn progress;
    void *progress_payload;
    ml_progress_event_fn progress_event;
    void *progress_event_payload;
    const char *step;     /* static name of the step in progress */
    uint64_t step_done;
    uint64_t step_total;
    ml__host **hosts;     /* stable addresses: other threads hold them */
    size_t host_count;
    size_t host_cap;
    ml__mount *mounts;
    size_t mount_count;
    size_t mount_cap;
    ml__memo *resolved;   /* with ML_CLIENT_RESOLVE_ONCE, else NULL */
};

void ml__client_log(const ml_client *c, int level, const char *fmt, ...) ML__PRINTF(3, 4);
/* The state of registry `name`, created on first use; NULL on ENOMEM.
 * With c->lock held. */
ml__host *ml__client_host(ml_client *c, const char *name);
/* Starts a progress step of `total` requests (no-op without a callback). */
void ml__client_step(ml_client *c, const char *step, size_t total);
/* Progress in bytes of the blob being copied ("copy bytes"). */
void ml__client_bytes(ml_client *c, uint64_t done, uint64_t total);

/* One blob copy's progress events (ml_progress_event). Its state lives
 * with the copy, not in the client: copies may run on several threads. */
typedef struct ml__blob_progress {
    ml_client *client;
    char *image; /* formatted only when there is a callback */
    const char *digest;
    uint64_t total;
    uint64_t start_ms;
    uint64_t last_bytes_ms;
} ml__blob_progress;
void ml__client_blob_track(ml__blob_progress *p, ml_client *c, const ml_ref *image, const char *digest,
                           int64_t size);
/* ML_PROGRESS_START, _BYTES (done so far), _DONE or _MOUNTED. */
void ml__client_blob_event(ml__blob_progress *p, uint32_t kind, uint64_t done);
void ml__client_blob_untrack(ml__blob_progress *p);

/* Options other layers need: the request timeout (also a layout lock's
 * longest wait), retries, the config cache directory (NULL: none). */
uint32_t ml__client_timeout_ms(const ml_client *c);
uint32_t ml__client_retries(const ml_client *c);
const char *ml__client_cache_dir(const ml_client *c);
/* What references resolved to in this client's lifetime (memo.h), or NULL
 * when it is not to remember. */
ml__memo *ml__client_resolved(ml_client *c);

#endif
