/* The transport to registries: where each registry lives (scheme probe),
 * authentication (challenge, credentials, tokens, the 401 retry rounds),
 * over the client's HTTP layer (retries, timeouts, user agent). The
 * registry store (registry.c) speaks the distribution API over it. */
#ifndef ML_TRANSPORT_H
#define ML_TRANSPORT_H

#include "client.h"
#include "ref.h"

/* What a request needs to be allowed: actions ("pull", "pull,push",
 * "delete") on its repository, and pull on the repository a blob is
 * mounted from (NULL: none; else a repository of the same registry, as
 * ml__store_can_mount decides). A NULL repo sends the request bare, with
 * no credentials (an upload session that lives outside the registry: its
 * credentials are not for that host). */
typedef struct ml__access {
    const ml_ref *repo;
    const char *actions;
    const ml_ref *from;
} ml__access;

/* "https://host:port" or "http://host:port" of ref's registry, probed once
 * per run; a registry that could not be reached fails every later call the
 * same way. *base is borrowed from the client. */
int ml__transport_base(ml_client *c, const ml_ref *ref, const char **base, ml_error **err);

/* Sends the requests that exist (reqs[i] may be NULL), each authorized for
 * acc[i], answering authentication challenges: a request refused with 401
 * is sent again once the registry said how to authenticate, with the
 * other end of its pipe if it has one. Per-request outcomes are in the
 * requests; the return is for what stops them all (credentials that
 * cannot be loaded, a token refused, ML_ENOMEM). */
int ml__transport_send(ml_client *c, ml__http_req **reqs, const ml__access *acc, size_t n, ml_error **err);
int ml__transport_send_one(ml_client *c, ml__http_req *r, const ml_ref *repo, const char *actions,
                           const ml_ref *from, ml_error **err);

/* For rc ML_EAUTH (a request to repo's registry ended in 401 or 403 after
 * the authentication rounds), says why in *err (ML_AUTH_*) and which
 * credentials it was about or where none were found; returns rc. */
int ml__transport_auth_explain(ml_client *c, const ml_ref *repo, long status, int rc, ml_error **err);

/* A registry asked in the scheme it does not speak: plain HTTP to a TLS
 * server (its 400 or redirect to https), or TLS to a plain HTTP server.
 * ML_ENET naming `what` with ML_HINT_HTTPS or ML_HINT_PLAIN_HTTP; ML_OK
 * when the answer is not that. */
int ml__transport_scheme_error(const ml__http_req *r, const char *what, ml_error **err);

/* A request that got no answer (refused, TLS, timeout): ML_ENET naming
 * `what`, hinting at the CA when the certificate was not trusted. */
int ml__transport_error(const ml__http_req *r, const char *what, ml_error **err);

#endif
