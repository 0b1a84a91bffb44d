/* The transport to registries: for each registry host, where it lives
 * (https, or plain http for a loopback registry that speaks it), and
 * authentication — anonymous first, Basic or Bearer as the
 * WWW-Authenticate challenge asks, one token per registry covering every
 * scope the run needs, renewed before it expires, and the 401 retry rounds.
 * registry.c speaks the distribution API over it. Secrets never reach a
 * message or a log line. */
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "transport.h"

/* ---- credentials ---------------------------------------------------------- */

/* Renew tokens a little early: a request must not race the expiry. */
#define TOKEN_EARLY_MS 5000

static int load_credentials_once(ml_client *c, ml__host *h, ml_error **err);

static int load_credentials(ml_client *c, ml__host *h, ml_error **err)
{
    if (h->cred_loaded)
        return ML_OK;
    /* Marked loaded only once it worked: a helper that failed is asked
     * again rather than silently replaced by anonymous access. */
    int rc = load_credentials_once(c, h, err);
    h->cred_loaded = rc == ML_OK;
    return rc;
}

static int set_where(ml__host *h, const char *where, ml_error **err)
{
    free(h->cred.cred.where);
    h->cred.cred.where = ml__strdup(where);
    return h->cred.cred.where ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}

static int load_credentials_once(ml_client *c, ml__host *h, ml_error **err)
{
    if (c->username || c->password) {
        if (ml_credential_set(&h->cred, c->username, c->password ? c->password : "", 0) != ML_OK)
            return ml__error_set(err, ML_ENOMEM, "out of memory");
        return set_where(h, "the username and password given", err);
    }
    if (c->credentials) {
        int rc = c->credentials(h->name, &h->cred, c->credentials_payload);
        if (rc != ML_OK)
            return ml__error_set(err, rc, "credential provider failed for %s", h->name);
        return set_where(h, "the credential callback", err);
    }
    ml__cred_sources src = {c->auth_file, c->docker_config_dir};
    bool found = false;
    ml__cred cred = {0};
    int rc = ml__cred_lookup(&src, h->name, &cred, &found, err);
    if (rc != ML_OK)
        return rc;
    ml__cred_clear(&h->cred.cred);
    h->cred.cred = cred; /* when none were found, where it looked */
    h->cred.set = found;
    return ML_OK;
}

static int set_authorization(ml__http_req *req, const char *value)
{
    for (size_t i = 0; i < req->headers.count; i++) {
        if (strncmp(req->headers.items[i], "Authorization:", 14) == 0) {
            free(req->headers.items[i]);
            req->headers.items[i] = req->headers.items[--req->headers.count];
            break;
        }
    }
    return value ? ml__http_req_header(req, "Authorization: %s", value) : ML_OK;
}

static char *basic_value(const ml__cred *cred)
{
    char *pair = ml__asprintf("%s:%s", cred->username ? cred->username : "", cred->secret ? cred->secret : "");
    char *b64 = pair ? ml__base64_encode(pair, strlen(pair)) : NULL;
    char *value = b64 ? ml__asprintf("Basic %s", b64) : NULL;
    if (pair)
        ml__wipe(pair, strlen(pair));
    free(pair);
    free(b64);
    return value;
}

/* Which credentials an authentication failure is about, or where none
 * were found: the user name and the source, never the secret. */
static int explain(const ml__host *h, int reason, ml_error **err)
{
    const ml__cred *cred = &h->cred.cred;
    char *detail = NULL;
    if (reason == ML_AUTH_NO_CREDENTIALS)
        detail = ml__asprintf("looked in %s", cred->where ? cred->where : "no file (none configured)");
    else if (h->cred.set)
        detail = ml__asprintf("user \"%s\" from %s", cred->username ? cred->username : "",
                              cred->where ? cred->where : "the client");
    int rc = ml__error_auth(err, ML_EAUTH, reason, detail);
    free(detail);
    return rc;
}

/* ---- tokens ------------------------------------------------------------- */

static ml__http_req *token_request(ml__host *h, ml_error **err)
{
    const ml__cred *cred = h->cred.set ? &h->cred.cred : NULL;
    const char *refresh = h->refresh_token ? h->refresh_token : cred && cred->identity_token ? cred->secret : NULL;
    ml__http_req *r = NULL;
    if (refresh) {
        /* OAuth2 (distribution token spec, oauth.md): identity tokens are
         * refresh tokens, exchanged by POST. */
        char *form = ml__token_form(&h->challenge, &h->wanted, refresh);
        r = form ? ml__http_req_new("POST", h->challenge.realm) : NULL;
        if (r && ml__http_req_header(r, "Content-Type: application/x-www-form-urlencoded") == ML_OK) {
            r->body = form; /* freed by the caller through r->user */
            r->body_len = strlen(form);
            r->user = form;
        } else {
            free(form);
            ml__http_req_free(r);
            r = NULL;
        }
    } else {
        char *url = ml__token_url(&h->challenge, &h->wanted);
        r = url ? ml__http_req_new("GET", url) : NULL;
        free(url);
        char *basic = r && cred ? basic_value(cred) : NULL;
        if (r && cred && (!basic || set_authorization(r, basic) != ML_OK)) {
            ml__http_req_free(r);
            r = NULL;
        }
        free(basic);
    }
    if (!r)
        ml__error_set(err, ML_ENOMEM, "out of memory");
    return r;
}

static int token_failed(const ml__host *h, const ml__http_req *r, ml_error **err)
{
    if (r->status == 0)
        return ml__error_set(err, ml__http_unsent(r) ? ML_EINVAL : ML_ENET, "token request for %s: %s", h->name,
                             r->error);
    if (r->status == 401 || r->status == 403) {
        ml__error_set(err, ML_EAUTH, "%s: authentication failed (token service answered HTTP %ld)", h->name,
                      r->status);
        return explain(h, h->cred.set ? ML_AUTH_REJECTED : ML_AUTH_NO_CREDENTIALS, err);
    }
    return ml__error_set(err, ML_EAUTH, "token request for %s: HTTP %ld", h->name, r->status);
}

static int store_token(ml__host *h, const ml__http_req *r, ml_error **err)
{
    ml__token t = {0};
    int rc = ml__token_parse(r->response.data, r->response.len, &t, err);
    if (rc != ML_OK)
        return ml__error_prefix(err, rc, "token for %s", h->name);
    char *value = ml__asprintf("Bearer %s", t.token);
    ml__scopes granted = {0};
    if (!value || ml__scopes_merge(&granted, &h->wanted) != ML_OK) {
        free(value);
        ml__token_clear(&t);
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    free(h->authorization);
    h->authorization = value;
    ml__scopes_free(&h->token_scopes);
    h->token_scopes = granted;
    uint64_t life = (uint64_t)t.expires_in * 1000u;
    h->token_expiry_ms = ml__now_ms() + (life > 2 * TOKEN_EARLY_MS ? life - TOKEN_EARLY_MS : life / 2);
    if (t.refresh_token) {
        free(h->refresh_token);
        h->refresh_token = t.refresh_token;
        t.refresh_token = NULL;
    }
    ml__token_clear(&t);
    return ML_OK;
}

static int fetch_token(ml_client *c, ml__host *h, ml_error **err)
{
    int rc = load_credentials(c, h, err);
    if (rc != ML_OK)
        return rc;
    ml__http_req *r = token_request(h, err);
    if (!r)
        return ML_ENOMEM;
    r->max_body = 1024 * 1024;
    r->tls = &h->tls; /* docker, too, reaches the token service with the registry's */
    rc = ml__http_run(c->http, &r, 1);
    if (rc != ML_OK)
        rc = ml__error_set(err, rc, "out of memory");
    else if (r->status != 200)
        rc = token_failed(h, r, err);
    else
        rc = store_token(h, r, err);
    free(r->user);
    ml__http_req_free(r);
    return rc;
}

/* ---- per request -------------------------------------------------------- */

static bool token_fits(const ml__host *h, const ml__scopes *scopes)
{
    return h->authorization && ml__now_ms() < h->token_expiry_ms && ml__scopes_cover(&h->token_scopes, scopes);
}

static int auth_prepare(ml_client *c, ml__host *h, const ml__scopes *scopes, ml__http_req *req, ml_error **err)
{
    if (ml__scopes_merge(&h->wanted, scopes) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    req->tls = &h->tls;
    int rc = ML_OK;
    switch (h->challenge.scheme) {
    case ML__AUTH_NONE:
        return set_authorization(req, NULL); /* anonymous until asked */
    case ML__AUTH_BASIC:
        if (!h->authorization && (rc = load_credentials(c, h, err)) == ML_OK && h->cred.set &&
            !(h->authorization = basic_value(&h->cred.cred)))
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
        break;
    case ML__AUTH_BEARER:
        if (!token_fits(h, scopes))
            rc = fetch_token(c, h, err);
        break;
    }
    if (rc == ML_OK && set_authorization(req, h->authorization) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    return rc;
}

static bool auth_challenged(ml_client *c, ml__host *h, const ml__http_req *req)
{
    char *header = ml__http_header_join(req, "WWW-Authenticate");
    ml__challenge ch = {0};
    int parsed = header ? ml__challenge_parse(header, &ch, NULL) : ML_EAUTH;
    free(header);
    if (parsed != ML_OK)
        return false;
    bool had_auth = h->authorization != NULL;
    bool basic_rejected = had_auth && ch.scheme == ML__AUTH_BASIC;
    /* A registry may name the exact scope it wants (insufficient_scope). */
    if (ch.scope)
        ml__scopes_add_string(&h->wanted, ch.scope);
    ml__challenge_clear(&h->challenge);
    h->challenge = ch;
    free(h->authorization);
    h->authorization = NULL;
    if (basic_rejected) {
        ml__client_log(c, ML_LOG_DEBUG, "%s rejected the credentials", h->name);
        return false;
    }
    return true;
}

/* ---- where a registry lives --------------------------------------------- */

static bool answered_plain(const ml__http_req *r);

int ml__transport_scheme_error(const ml__http_req *r, const char *what, ml_error **err)
{
    /* A registry's own 400 carries its JSON error body; Go's TLS server
     * answers plain HTTP with a bare status line, no header (a HEAD gets
     * no body to tell by). */
    bool registry_body = r->response.data && r->response.data[0] == '{';
    bool bare_400 = r->status == 400 && r->response_headers.count == 0;
    bool from_registry = r->status && r->redirects == 0; /* not blob storage's answer */
    if (ml__has_prefix(r->url, "http://") && from_registry && !registry_body && (bare_400 || !answered_plain(r))) {
        ml__error_set(err, ML_ENET, "%s: the registry speaks HTTPS, not plain HTTP (it answered HTTP %ld)", what,
                      r->status);
        return ml__error_hint(err, ML_ENET, ML_HINT_HTTPS);
    }
    if (ml__has_prefix(r->url, "https://") && ml__http_plain_server(r)) {
        ml__error_set(err, ML_ENET, "%s: the registry speaks plain HTTP, not HTTPS (%s)", what, r->error);
        return ml__error_hint(err, ML_ENET, ML_HINT_PLAIN_HTTP);
    }
    return ML_OK;
}

int ml__transport_error(const ml__http_req *r, const char *what, ml_error **err)
{
    int rc = ml__transport_scheme_error(r, what, err);
    if (rc != ML_OK)
        return rc;
    if (ml__http_unsent(r))
        return ml__error_set(err, ML_EINVAL, "%s: %s", what, r->error);
    if (ml__http_cert_failed(r)) {
        ml__error_set(err, ML_ENET, "%s: TLS certificate not trusted (%s)", what, r->error);
        return ml__error_hint(err, ML_ENET, ML_HINT_TRUST_CA);
    }
    return ml__error_set(err, ML_ENET, "%s: %s", what, r->error[0] ? r->error : "no answer");
}

/* The registry's certs.d material, read once per run. */
static int load_tls(ml_client *c, ml__host *h, ml_error **err)
{
    if (h->tls_loaded)
        return ML_OK;
    ml__http_tls certs = {0};
    int rc = ml__certs_read(c->certs_dirs, h->name, &certs, err);
    if (rc == ML_OK)
        rc = ml__http_tls_init(c->http, &h->tls, certs.ca_pem, certs.ca_len, certs.cert, certs.key, err);
    ml__http_tls_clear(&certs);
    h->tls_loaded = rc == ML_OK;
    return rc;
}

static int probe(ml_client *c, const ml__host *h, const char *scheme, const char *api_host, ml__http_req **out)
{
    char *url = ml__asprintf("%s://%s/v2/", scheme, api_host);
    *out = url ? ml__http_req_new("GET", url) : NULL;
    free(url);
    if (!*out)
        return ML_ENOMEM;
    (*out)->max_body = 64 * 1024;
    (*out)->tls = &h->tls;
    (*out)->probe = true;
    return ml__http_run(c->http, out, 1);
}

/* A TLS server answers a plain request with 400 ("Client sent an HTTP
 * request to an HTTPS server") or a redirect to https. */
static bool answered_plain(const ml__http_req *r)
{
    if (!r->status)
        return false;
    const char *loc = ml__http_header(r, "Location");
    if (r->status >= 300 && r->status < 400 && loc && ml__has_prefix(loc, "https://"))
        return false;
    if (r->status != 400 || !r->response.data)
        return true;
    for (const char *p = r->response.data; *p; p++)
        if (ml__has_iprefix(p, "https"))
            return false;
    return true;
}

/* A loopback registry may speak plain HTTP (docker and containerd allow it
 * for localhost). Asking in plain HTTP first costs nothing secret (no
 * credentials are sent before a challenge) and spares a TLS handshake; a
 * TLS server is then asked over TLS, and a certificate failure there is
 * never a reason to fall back. */
static int probe_loopback(ml_client *c, const ml__host *h, const char *api_host, char **base, ml_error **err)
{
    ml__http_req *r = NULL;
    int rc = probe(c, h, "http", api_host, &r);
    bool plain = rc == ML_OK && answered_plain(r);
    bool nobody = rc == ML_OK && ml__http_refused(r);
    if (rc == ML_OK && nobody)
        rc = ml__transport_error(r, r->url, err);
    if (rc == ML_OK && !plain) {
        ml__http_req_free(r);
        rc = probe(c, h, "https", api_host, &r);
        if (rc == ML_OK && !r->status && !ml__http_plain_server(r))
            rc = ml__transport_error(r, r->url, err);
        plain = rc == ML_OK && !r->status;
    }
    if (rc == ML_OK && !(*base = ml__asprintf("%s://%s", plain ? "http" : "https", api_host)))
        rc = ML_ENOMEM;
    if (rc == ML_ENOMEM)
        ml__error_set(err, rc, "out of memory");
    ml__http_req_free(r);
    return rc;
}

static int find_base(ml_client *c, const ml_ref *ref, const char **base, ml_error **err);

int ml__transport_base(ml_client *c, const ml_ref *ref, const char **base, ml_error **err)
{
    /* Every URL starts here: its repository goes into the path as is. */
    if (!ml__repository_valid(ref->repository))
        return ml__error_set_printable(err, ML_EREF, "%s: invalid repository name \"%.100s\"", ref->registry,
                                       ref->repository ? ref->repository : "");
    /* Under the lock: threads sharing the client wait for the one probe. */
    pthread_mutex_lock(&c->lock);
    int rc = find_base(c, ref, base, err);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static int find_base(ml_client *c, const ml_ref *ref, const char **base, ml_error **err)
{
    ml__host *h = ml__client_host(c, ref->registry);
    if (!h)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    if (h->base) {
        *base = h->base;
        return ML_OK;
    }
    /* One probe per registry and run: every request would fail the same way. */
    if (h->unreachable)
        return ml__error_set(err, ml_error_code(h->unreachable), "%s", ml_error_message(h->unreachable));
    const char *api_host = ml__ref_api_host(ref);
    char *b = NULL;
    int rc = load_tls(c, h, err);
    if (rc != ML_OK)
        return rc;
    if (c->flags & ML_CLIENT_PLAIN_HTTP)
        b = ml__asprintf("http://%s", api_host);
    else if (ml__ref_is_loopback(ref))
        rc = probe_loopback(c, h, api_host, &b, err);
    else
        b = ml__asprintf("https://%s", api_host);
    if (rc != ML_OK) {
        if (err && *err)
            ml__error_set(&h->unreachable, rc, "%s", ml_error_message(*err));
        return rc;
    }
    if (!b)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    h->base = b;
    *base = h->base;
    return ML_OK;
}

/* ---- sending, authorized ------------------------------------------------ */

static int scopes_of(const ml__access *a, ml__scopes *s)
{
    int rc = ml__scopes_add(s, a->repo->repository, a->actions);
    if (rc == ML_OK && a->from)
        rc = ml__scopes_add(s, a->from->repository, "pull");
    return rc;
}

static int authorize(ml_client *c, ml__http_req *r, const ml__access *a, ml_error **err)
{
    if (!a->repo)
        return ML_OK; /* sent bare */
    ml__host *h = ml__client_host(c, a->repo->registry);
    ml__scopes s = {0};
    int rc = h ? scopes_of(a, &s) : ML_ENOMEM;
    if (rc == ML_OK)
        rc = auth_prepare(c, h, &s, r, err);
    else
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__scopes_free(&s);
    return rc;
}

/* Every scope a batch needs, known before the first token is asked for,
 * so that one token covers the batch (DESIGN 5). */
static int want_scopes(ml_client *c, ml__http_req **reqs, const ml__access *acc, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ml__host *h = reqs[i] && acc[i].repo ? ml__client_host(c, acc[i].repo->registry) : NULL;
        ml__scopes s = {0};
        int rc = !reqs[i] || !acc[i].repo ? ML_OK : h ? scopes_of(&acc[i], &s) : ML_ENOMEM;
        if (rc == ML_OK && h)
            rc = ml__scopes_merge(&h->wanted, &s);
        ml__scopes_free(&s);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}

/* A piped download and upload move together or not at all: when one end
 * of a pipe is sent again, so is the other, through an emptied pipe. */
static void resend_partners(ml__http_req **reqs, bool *todo, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ml__http_pipe *p = todo[i] ? (reqs[i]->pipe_out ? reqs[i]->pipe_out : reqs[i]->pipe_in) : NULL;
        for (size_t j = 0; p && j < n; j++) {
            if (j == i || !reqs[j] || (reqs[j]->pipe_in != p && reqs[j]->pipe_out != p))
                continue;
            todo[j] = true;
        }
        if (p)
            ml__http_pipe_reset(p);
    }
}

/* Sends the requests that exist, answering authentication challenges: a
 * request refused with 401 is sent again once the registry said how to
 * authenticate. Tokens may expire while a slow batch runs, so retries go on
 * while some request gets through; a round in which every request is
 * refused again (a wrong password) ends it. */
#define AUTH_ROUNDS_MAX 16

int ml__transport_send(ml_client *c, ml__http_req **reqs, const ml__access *acc, size_t n, ml_error **err)
{
    ml__http_req **live = calloc(n ? n : 1, sizeof(*live));
    bool *todo = calloc(n ? n : 1, sizeof(*todo));
    int rc = live && todo ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ML_OK && i < n; i++)
        todo[i] = reqs[i] != NULL;
    pthread_mutex_lock(&c->lock);
    if (rc == ML_OK && want_scopes(c, reqs, acc, n) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    pthread_mutex_unlock(&c->lock);
    for (int round = 0; rc == ML_OK && round < AUTH_ROUNDS_MAX; round++) {
        size_t m = 0;
        /* A token is fetched under the lock: other threads wait for it
         * rather than ask for one each. */
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; rc == ML_OK && i < n; i++)
            if (todo[i] && (rc = authorize(c, reqs[i], &acc[i], err)) == ML_OK)
                live[m++] = reqs[i];
        pthread_mutex_unlock(&c->lock);
        if (rc != ML_OK || m == 0)
            break;
        if ((rc = ml__http_run(c->http, live, m)) != ML_OK) {
            rc = ml__error_set(err, rc, "out of memory");
            break;
        }
        bool again = false, progress = false;
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < n; i++) {
            if (!todo[i])
                continue;
            progress |= reqs[i]->status != 401;
            /* A 401 from where a redirect led (blob storage) is that host's
             * business, not a challenge of the registry. */
            todo[i] = acc[i].repo && reqs[i]->status == 401 && reqs[i]->redirects == 0 &&
                      auth_challenged(c, ml__client_host(c, acc[i].repo->registry), reqs[i]);
            again |= todo[i];
        }
        pthread_mutex_unlock(&c->lock);
        resend_partners(reqs, todo, n);
        if (!again || (round > 0 && !progress))
            break;
    }
    free(live);
    free(todo);
    return rc;
}

int ml__transport_send_one(ml_client *c, ml__http_req *r, const ml_ref *repo, const char *actions, const ml_ref *from,
                    ml_error **err)
{
    ml__access a = {repo, actions, from};
    return ml__transport_send(c, &r, &a, 1, err);
}

static int auth_reason(const ml__host *h, long status)
{
    if (!h->cred.set)
        return ML_AUTH_NO_CREDENTIALS;
    if (status == 403)
        return ML_AUTH_DENIED;
    /* A token was issued for these credentials: the registry refusing it
     * is about the repository or action, not the credentials. */
    return h->challenge.scheme == ML__AUTH_BASIC ? ML_AUTH_REJECTED : ML_AUTH_DENIED;
}

int ml__transport_auth_explain(ml_client *c, const ml_ref *repo, long status, int rc, ml_error **err)
{
    if (rc != ML_EAUTH)
        return rc;
    /* Hosts are shared by the threads of a client. */
    pthread_mutex_lock(&c->lock);
    ml__host *h = ml__client_host(c, repo->registry);
    rc = h ? explain(h, auth_reason(h, status), err) : ml__error_auth(err, rc, ML_AUTH_NO_CREDENTIALS, NULL);
    pthread_mutex_unlock(&c->lock);
    return rc;
}
