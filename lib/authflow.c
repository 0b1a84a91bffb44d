/* Answering registry challenges: anonymous first, Basic or Bearer as the
 * WWW-Authenticate header asks, one token per registry covering every
 * scope the run needs, renewed before it expires. Secrets never reach a
 * message or a log line. */
#include <stdlib.h>
#include <string.h>

#include "client.h"

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

static int load_credentials_once(ml_client *c, ml__host *h, ml_error **err)
{
    if (c->username || c->password)
        return ml_credential_set(&h->cred, c->username, c->password ? c->password : "", 0) == ML_OK
                   ? ML_OK
                   : ml__error_set(err, ML_ENOMEM, "out of memory");
    if (c->credentials) {
        int rc = c->credentials(h->name, &h->cred, c->credentials_payload);
        return rc == ML_OK ? ML_OK : ml__error_set(err, rc, "credential provider failed for %s", h->name);
    }
    ml__cred_sources src = {c->auth_file, c->docker_config_dir};
    bool found = false;
    ml__cred cred = {0};
    int rc = ml__cred_lookup(&src, h->name, &cred, &found, err);
    if (rc != ML_OK)
        return rc;
    if (found) {
        h->cred.cred = cred;
        h->cred.set = true;
    }
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
        memset(pair, 0, strlen(pair));
    free(pair);
    free(b64);
    return value;
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
    if (r->status == 401 || r->status == 403)
        return ml__error_set(err, ML_EAUTH, "%s: authentication failed (token service answered HTTP %ld)%s", h->name,
                             r->status, h->cred.set ? ": check the credentials" : ": no credentials found (use --username "
                                                                                   "and --password, docker login, or --authfile)");
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

int ml__auth_prepare(ml_client *c, ml__host *h, const ml__scopes *scopes, ml__http_req *req, ml_error **err)
{
    if (ml__scopes_merge(&h->wanted, scopes) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
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

bool ml__auth_challenged(ml_client *c, ml__host *h, const ml__http_req *req)
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
