/* WWW-Authenticate challenges (RFC 7235 section 2.1 and 4.1, RFC 6750
 * section 3), token endpoint answers (distribution docs/spec/auth/token.md,
 * oauth.md), token scopes (docs/spec/auth/scope.md) and the base64 and
 * percent encodings they need. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "json.h"

/* Header prefixes quoted in error messages: enough to recognise it. */
#define QUOTE_MAX 120

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

/* ---- Character classes (ASCII only, independent of the locale) ----------- */

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 7230 section 3.2.6 tchar. */
static bool is_tchar(unsigned char c)
{
    return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 7235 section 2.1 token68 characters (without the trailing '='). */
static bool is_t68(unsigned char c) { return is_alnum(c) || (c && strchr("-._~+/", c) != NULL); }

static bool is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

static bool is_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

/* ---- WWW-Authenticate ------------------------------------------------------ */

void ml__challenge_clear(ml__challenge *c)
{
    if (!c)
        return;
    free(c->realm);
    free(c->service);
    free(c->scope);
    free(c->error);
    *c = (ml__challenge){0};
}

typedef struct parser {
    const char *start;
    const char *p;
    ml_error **err;
} parser;

static int challenge_fail(parser *ps, const char *what, bool at)
{
    size_t len = strlen(ps->start);
    char *quoted = ml__sanitize(ps->start, len, QUOTE_MAX);
    if (!quoted)
        return oom(ps->err);
    if (at)
        ml__error_set(ps->err, ML_EAUTH, "WWW-Authenticate: %s at offset %zu in \"%s\"", what,
                      (size_t)(ps->p - ps->start), quoted);
    else
        ml__error_set(ps->err, ML_EAUTH, "WWW-Authenticate: %s in \"%s\"", what, quoted);
    free(quoted);
    return ML_EAUTH;
}

static void skip_ows(parser *ps)
{
    while (is_ows((unsigned char)*ps->p))
        ps->p++;
}

static size_t token_len(const char *s)
{
    size_t n = 0;
    while (is_tchar((unsigned char)s[n]))
        n++;
    return n;
}

/* Reads a quoted-string (RFC 7230 section 3.2.6) or, leniently, any run of
 * characters up to ',' or whitespace: registries send unquoted URLs and
 * scopes, which contain ':' and '/' outside tchar. */
static int read_value(parser *ps, char **out)
{
    ml__buf b = {0};
    if (*ps->p == '"') {
        ps->p++;
        for (;;) {
            unsigned char c = (unsigned char)*ps->p;
            if (c == '\0') {
                ml__buf_free(&b);
                return challenge_fail(ps, "unterminated quoted string", true);
            }
            if (c == '"')
                break;
            if (c == '\\') {
                ps->p++;
                c = (unsigned char)*ps->p;
                if (c == '\0') {
                    ml__buf_free(&b);
                    return challenge_fail(ps, "unterminated quoted string", true);
                }
            }
            if (is_ctl(c)) {
                ml__buf_free(&b);
                return challenge_fail(ps, "control character in quoted string", true);
            }
            ml__buf_append(&b, &c, 1);
            ps->p++;
        }
        ps->p++;
    } else {
        const char *v = ps->p;
        while (*ps->p && *ps->p != ',' && *ps->p != '"' && !is_ows((unsigned char)*ps->p) &&
               !is_ctl((unsigned char)*ps->p))
            ps->p++;
        if (ps->p == v)
            return challenge_fail(ps, "missing parameter value", true);
        ml__buf_append(&b, v, (size_t)(ps->p - v));
    }
    *out = ml__buf_take(&b);
    return *out ? ML_OK : oom(ps->err);
}

/* Stores a parameter of a supported challenge; the first of duplicates wins
 * (RFC 7235 section 2.1 forbids them). Takes ownership of value. */
static void store_param(ml__challenge *c, const char *name, size_t len, char *value)
{
    char **slot = NULL;
    if (ml__ieq_n(name, len, "realm", 5))
        slot = &c->realm;
    else if (ml__ieq_n(name, len, "service", 7))
        slot = &c->service;
    else if (ml__ieq_n(name, len, "scope", 5))
        slot = &c->scope;
    else if (ml__ieq_n(name, len, "error", 5))
        slot = &c->error;
    if (slot && !*slot) {
        *slot = value;
        return;
    }
    free(value);
}

/* After "Scheme 1*SP": token68, or a comma-separated auth-param list that
 * ends where a new challenge ("Scheme" not followed by '=') starts. */
static int parse_params(parser *ps, ml__challenge *c)
{
    /* token68: 1*t68char *"=" followed by the end or a comma. */
    const char *q = ps->p;
    while (is_t68((unsigned char)*q))
        q++;
    if (q > ps->p) {
        while (*q == '=')
            q++;
        const char *r = q;
        while (is_ows((unsigned char)*r))
            r++;
        if (*r == '\0' || *r == ',') {
            ps->p = r;
            return ML_OK;
        }
    }
    for (;;) {
        const char *name = ps->p;
        size_t nlen = token_len(name);
        if (nlen == 0)
            return challenge_fail(ps, "expected a parameter name", true);
        ps->p += nlen;
        skip_ows(ps);
        if (*ps->p != '=')
            return challenge_fail(ps, "expected '='", true);
        ps->p++;
        skip_ows(ps);
        char *value = NULL;
        int rc = read_value(ps, &value);
        if (rc != ML_OK)
            return rc;
        if (c->scheme != ML__AUTH_NONE)
            store_param(c, name, nlen, value);
        else
            free(value);
        skip_ows(ps);
        if (*ps->p == '\0')
            return ML_OK;
        if (*ps->p != ',')
            return challenge_fail(ps, "expected ',' after a parameter", true);
        /* Empty list elements are allowed (RFC 7230 section 7). */
        const char *s = ps->p;
        while (*s == ',' || is_ows((unsigned char)*s))
            s++;
        const char *t = s + token_len(s);
        while (is_ows((unsigned char)*t))
            t++;
        if (*s == '\0' || t == s || *t != '=') {
            ps->p = s; /* the end, or the next challenge */
            return ML_OK;
        }
        ps->p = s;
    }
}

static bool realm_is_url(const char *realm)
{
    const char *rest;
    if (ml__has_iprefix(realm, "https://"))
        rest = realm + 8;
    else if (ml__has_iprefix(realm, "http://"))
        rest = realm + 7;
    else
        return false;
    if (*rest == '\0' || *rest == '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)realm; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

int ml__challenge_parse(const char *header, ml__challenge *out, ml_error **err)
{
    *out = (ml__challenge){0};
    if (!header)
        return ml__error_set(err, ML_EAUTH, "WWW-Authenticate: header missing");
    size_t hlen = strlen(header);
    if (hlen > ML__AUTH_HEADER_MAX) {
        char *quoted = ml__sanitize(header, hlen, QUOTE_MAX);
        if (!quoted)
            return oom(err);
        ml__error_set(err, ML_EAUTH, "WWW-Authenticate: header of %zu bytes exceeds %d bytes: \"%s\"",
                      hlen, ML__AUTH_HEADER_MAX, quoted);
        free(quoted);
        return ML_EAUTH;
    }
    parser ps = {header, header, err};
    ml__challenge best = {0};
    bool bearer_without_realm = false, bearer_bad_realm = false;
    int rc = ML_OK;
    for (;;) {
        while (*ps.p == ',' || is_ows((unsigned char)*ps.p))
            ps.p++;
        if (*ps.p == '\0')
            break;
        size_t slen = token_len(ps.p);
        if (slen == 0) {
            rc = challenge_fail(&ps, "expected an authentication scheme", true);
            break;
        }
        ml__challenge cur = {0};
        if (ml__ieq_n(ps.p, slen, "bearer", 6))
            cur.scheme = ML__AUTH_BEARER;
        else if (ml__ieq_n(ps.p, slen, "basic", 5))
            cur.scheme = ML__AUTH_BASIC;
        ps.p += slen;
        if (is_ows((unsigned char)*ps.p)) {
            skip_ows(&ps);
            if (*ps.p != '\0' && *ps.p != ',')
                rc = parse_params(&ps, &cur);
        } else if (*ps.p != '\0' && *ps.p != ',') {
            rc = challenge_fail(&ps, "expected a space after the scheme", true);
        }
        if (rc != ML_OK) {
            ml__challenge_clear(&cur);
            break;
        }
        if (cur.scheme == ML__AUTH_BEARER && !cur.realm) {
            bearer_without_realm = true;
            ml__challenge_clear(&cur);
        } else if (cur.scheme == ML__AUTH_BEARER && !realm_is_url(cur.realm)) {
            bearer_bad_realm = true;
            ml__challenge_clear(&cur);
        }
        /* ml__auth_scheme is ordered by preference: Bearer over Basic. */
        if (cur.scheme > best.scheme) {
            ml__challenge_clear(&best);
            best = cur;
        } else {
            ml__challenge_clear(&cur);
        }
    }
    if (rc != ML_OK) {
        ml__challenge_clear(&best);
        return rc;
    }
    if (best.scheme == ML__AUTH_NONE) {
        if (hlen == 0 || ps.p == header + strspn(header, " \t,"))
            return challenge_fail(&ps, "empty header", false);
        if (bearer_bad_realm)
            return challenge_fail(&ps, "Bearer realm is not an http(s) URL", false);
        if (bearer_without_realm)
            return challenge_fail(&ps, "Bearer challenge without realm", false);
        return challenge_fail(&ps, "no supported challenge (Basic or Bearer)", false);
    }
    *out = best;
    return ML_OK;
}

/* ---- Token answers ------------------------------------------------------- */

void ml__token_clear(ml__token *t)
{
    if (!t)
        return;
    free(t->token);
    free(t->refresh_token);
    *t = (ml__token){0};
}

/* The token ends up in an "Authorization: Bearer" header: CR, LF or other
 * bytes outside visible ASCII would corrupt or inject headers. */
static bool header_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

/* Returns the string value of `key`, NULL when absent, JSON null or empty;
 * *bad is set when the value has another type. */
static const char *string_member(const ml__json *root, const char *key, bool *bad)
{
    const ml__json *item = ml__json_get(root, key);
    const char *s = ml__json_string(item);
    if (!item || ml__json_is_null(item))
        return NULL;
    if (!s) {
        *bad = true;
        return NULL;
    }
    return s[0] ? s : NULL;
}

static int token_fail(ml__json *root, ml_error **err, const char *what)
{
    ml__json_free_wiped(root);
    return ml__error_set(err, ML_EAUTH, "token endpoint answer: %s", what);
}

int ml__token_parse(const char *body, size_t len, ml__token *out, ml_error **err)
{
    *out = (ml__token){0};
    if (!body || len == 0)
        return ml__error_set(err, ML_EAUTH, "token endpoint answer: empty body");
    ml__json *root;
    /* Byte offsets and key names only: the message quotes no value. */
    if (ml__json_parse(&root, body, len, ML_EAUTH, err) != ML_OK)
        return ml__error_prefix(err, ML_EAUTH, "token endpoint answer");
    bool bad = false;
    const char *token = string_member(root, "token", &bad);
    if (bad)
        return token_fail(root, err, "\"token\" is not a string");
    if (!token) {
        token = string_member(root, "access_token", &bad);
        if (bad)
            return token_fail(root, err, "\"access_token\" is not a string");
    }
    if (!token)
        return token_fail(root, err, "no \"token\" or \"access_token\"");
    if (!header_safe(token))
        return token_fail(root, err, "token contains characters not allowed in a header");
    const char *refresh = string_member(root, "refresh_token", &bad);
    if (bad)
        return token_fail(root, err, "\"refresh_token\" is not a string");
    int64_t expires = ML__TOKEN_MIN_EXPIRES;
    const ml__json *ex = ml__json_get(root, "expires_in");
    if (ex && !ml__json_is_null(ex)) {
        if (!ml__json_is_number(ex))
            return token_fail(root, err, "\"expires_in\" is not a number");
        /* Compared as doubles first: converting an out-of-range double to
         * an integer is undefined. */
        double d = ml__json_double(ex);
        if (d > (double)ML__TOKEN_MAX_EXPIRES)
            expires = ML__TOKEN_MAX_EXPIRES;
        else if (d > (double)ML__TOKEN_MIN_EXPIRES)
            expires = (int64_t)d;
    }
    out->token = ml__strdup(token);
    out->refresh_token = refresh ? ml__strdup(refresh) : NULL;
    out->expires_in = expires;
    ml__json_free_wiped(root);
    if (!out->token || (refresh && !out->refresh_token)) {
        ml__token_clear(out);
        return oom(err);
    }
    return ML_OK;
}

/* ---- Scopes -------------------------------------------------------------- */

#define ACT_PULL 1u
#define ACT_PUSH 2u
#define ACT_DELETE 4u
#define ACT_ALL 8u

static const struct {
    const char *name;
    unsigned bit;
} known_actions[] = {{"pull", ACT_PULL}, {"push", ACT_PUSH}, {"delete", ACT_DELETE}, {"*", ACT_ALL}};

static unsigned known_bit(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(known_actions) / sizeof(known_actions[0]); i++)
        if (strlen(known_actions[i].name) == len && memcmp(known_actions[i].name, s, len) == 0)
            return known_actions[i].bit;
    return 0;
}

/* Other actions (such as ACR's "metadata_read") are a conservative subset
 * of what registries use, safe inside a scope string. */
static bool action_valid(const char *s, size_t len)
{
    if (len == 0)
        return false;
    if (known_bit(s, len))
        return true;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum((unsigned char)s[i]) && !strchr("_-.", s[i]))
            return false;
    return true;
}

static bool resource_valid(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* Length of the "TYPE:NAME" part of an item: up to its last ':'. */
static size_t resource_len(const char *item) { return (size_t)(strrchr(item, ':') - item); }

static int resource_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* True when the comma-separated list contains the action. */
static bool list_has(const char *list, const char *action, size_t len)
{
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        if (n == len && memcmp(p, action, len) == 0)
            return true;
        if (p[n] == '\0')
            return false;
        p += n + 1;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Merges two comma-separated action lists (b may be NULL) into canonical
 * order; ML_EINVAL for an empty or malformed action. */
static int actions_merge(const char *a, size_t alen, const char *b, size_t blen, char **out)
{
    unsigned known = 0;
    ml__strvec other = {0};
    const char *lists[2] = {a, b};
    size_t lens[2] = {alen, blen};
    int rc = ML_OK;
    for (int l = 0; l < 2 && rc == ML_OK; l++) {
        if (!lists[l])
            continue;
        const char *p = lists[l], *end = lists[l] + lens[l];
        for (;;) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
            if (!action_valid(p, n)) {
                rc = ML_EINVAL;
                break;
            }
            unsigned bit = known_bit(p, n);
            if (bit) {
                known |= bit;
            } else {
                char *s = ml__strndup(p, n);
                if (!s || ml__strvec_contains(&other, s)) {
                    free(s);
                    if (!s) {
                        rc = ML_ENOMEM;
                        break;
                    }
                } else if ((rc = ml__strvec_push_take(&other, s)) != ML_OK) {
                    break;
                }
            }
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    if (rc != ML_OK) {
        ml__strvec_free(&other);
        return rc;
    }
    if (other.count > 1)
        qsort(other.items, other.count, sizeof(*other.items), cmp_str);
    ml__buf buf = {0};
    const char *sep = "";
    for (size_t i = 0; i < sizeof(known_actions) / sizeof(known_actions[0]); i++) {
        if (known & known_actions[i].bit) {
            ml__buf_puts(&buf, sep);
            ml__buf_puts(&buf, known_actions[i].name);
            sep = ",";
        }
    }
    for (size_t i = 0; i < other.count; i++) {
        ml__buf_puts(&buf, sep);
        ml__buf_puts(&buf, other.items[i]);
        sep = ",";
    }
    ml__strvec_free(&other);
    *out = ml__buf_take(&buf);
    return *out ? ML_OK : ML_ENOMEM;
}

/* Inserts or merges one item; v is unchanged on failure. */
static int scopes_insert(ml__strvec *v, const char *res, size_t rlen, const char *acts, size_t alen)
{
    if (!resource_valid(res, rlen))
        return ML_EINVAL;
    size_t i = 0;
    int c = 1;
    for (; i < v->count; i++) {
        c = resource_cmp(v->items[i], resource_len(v->items[i]), res, rlen);
        if (c >= 0)
            break;
    }
    const char *old = NULL;
    size_t oldlen = 0;
    if (i < v->count && c == 0) {
        old = v->items[i] + rlen + 1;
        oldlen = strlen(old);
    }
    char *merged = NULL;
    int rc = actions_merge(acts, alen, old, oldlen, &merged);
    if (rc != ML_OK)
        return rc;
    char *item = ml__asprintf("%.*s:%s", (int)rlen, res, merged);
    free(merged);
    if (!item)
        return ML_ENOMEM;
    if (old) {
        free(v->items[i]);
        v->items[i] = item;
        return ML_OK;
    }
    if (ml__grow((void **)&v->items, &v->cap, v->count + 1, sizeof(*v->items)) != ML_OK) {
        free(item);
        return ML_ENOMEM;
    }
    memmove(v->items + i + 1, v->items + i, (v->count - i) * sizeof(*v->items));
    v->items[i] = item;
    v->count++;
    return ML_OK;
}

int ml__scopes_add(ml__scopes *s, const char *repository, const char *actions)
{
    if (!s || !repository || !actions || !*repository)
        return ML_EINVAL;
    char *res = ml__asprintf("repository:%s", repository);
    if (!res)
        return ML_ENOMEM;
    int rc = scopes_insert(&s->items, res, strlen(res), actions, strlen(actions));
    free(res);
    return rc;
}

static int strvec_copy(ml__strvec *dst, const ml__strvec *src)
{
    *dst = (ml__strvec){0};
    for (size_t i = 0; i < src->count; i++) {
        if (ml__strvec_push(dst, src->items[i]) != ML_OK) {
            ml__strvec_free(dst);
            return ML_ENOMEM;
        }
    }
    return ML_OK;
}

/* Adds "TYPE:NAME:ACTIONS" (split at the last ':') to v. */
static int scopes_add_one(ml__strvec *v, const char *scope, size_t len)
{
    const char *colon = NULL;
    for (size_t i = len; i > 0; i--) {
        if (scope[i - 1] == ':') {
            colon = scope + i - 1;
            break;
        }
    }
    if (!colon)
        return ML_EINVAL;
    size_t rlen = (size_t)(colon - scope);
    const char *type_end = memchr(scope, ':', rlen);
    /* Both TYPE and NAME must be non-empty. */
    if (!type_end || type_end == scope || type_end + 1 == colon)
        return ML_EINVAL;
    return scopes_insert(v, scope, rlen, colon + 1, len - rlen - 1);
}

int ml__scopes_add_string(ml__scopes *s, const char *scopes)
{
    if (!s || !scopes)
        return ML_EINVAL;
    ml__strvec tmp;
    if (strvec_copy(&tmp, &s->items) != ML_OK)
        return ML_ENOMEM;
    int rc = ML_OK;
    for (const char *p = scopes; *p && rc == ML_OK;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " ");
        if (n)
            rc = scopes_add_one(&tmp, p, n);
        p += n;
    }
    if (rc != ML_OK) {
        ml__strvec_free(&tmp);
        return rc;
    }
    ml__strvec_free(&s->items);
    s->items = tmp;
    return ML_OK;
}

bool ml__scopes_cover(const ml__scopes *have, const ml__scopes *want)
{
    if (!want)
        return true;
    for (size_t i = 0; i < want->items.count; i++) {
        const char *w = want->items.items[i];
        size_t wlen = resource_len(w);
        const char *h = NULL;
        for (size_t j = 0; have && j < have->items.count && !h; j++)
            if (resource_cmp(have->items.items[j], resource_len(have->items.items[j]), w, wlen) == 0)
                h = have->items.items[j];
        if (!h)
            return false;
        const char *hacts = h + wlen + 1;
        for (const char *p = w + wlen + 1;;) {
            size_t n = strcspn(p, ",");
            if (!list_has(hacts, p, n))
                return false;
            if (p[n] == '\0')
                break;
            p += n + 1;
        }
    }
    return true;
}

int ml__scopes_merge(ml__scopes *dst, const ml__scopes *src)
{
    if (!dst || !src)
        return ML_EINVAL;
    ml__strvec tmp;
    if (strvec_copy(&tmp, &dst->items) != ML_OK)
        return ML_ENOMEM;
    for (size_t i = 0; i < src->items.count; i++) {
        const char *item = src->items.items[i];
        int rc = scopes_add_one(&tmp, item, strlen(item));
        if (rc != ML_OK) {
            ml__strvec_free(&tmp);
            return rc;
        }
    }
    ml__strvec_free(&dst->items);
    dst->items = tmp;
    return ML_OK;
}

void ml__scopes_free(ml__scopes *s)
{
    if (s)
        ml__strvec_free(&s->items);
}

/* ---- Token requests ------------------------------------------------------ */

static bool is_unreserved(unsigned char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

static void buf_escape(ml__buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_unreserved(*p)) {
            ml__buf_append(b, p, 1);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            ml__buf_append(b, enc, 3);
        }
    }
}

char *ml__url_escape(const char *s)
{
    if (!s)
        return NULL;
    ml__buf b = {0};
    buf_escape(&b, s);
    return ml__buf_take(&b);
}

char *ml__token_url(const ml__challenge *c, const ml__scopes *s)
{
    if (!c || !c->realm || !*c->realm)
        return NULL;
    ml__buf b = {0};
    ml__buf_puts(&b, c->realm);
    const char *sep = "?";
    if (strchr(c->realm, '?')) {
        char last = c->realm[strlen(c->realm) - 1];
        sep = last == '?' || last == '&' ? "" : "&";
    }
    if (c->service && *c->service) {
        ml__buf_puts(&b, sep);
        ml__buf_puts(&b, "service=");
        buf_escape(&b, c->service);
        sep = "&";
    }
    for (size_t i = 0; s && i < s->items.count; i++) {
        ml__buf_puts(&b, sep);
        ml__buf_puts(&b, "scope=");
        buf_escape(&b, s->items.items[i]);
        sep = "&";
    }
    return ml__buf_take(&b);
}

char *ml__token_form(const ml__challenge *c, const ml__scopes *s, const char *refresh_token)
{
    if (!refresh_token)
        return NULL;
    ml__buf b = {0};
    ml__buf_puts(&b, "grant_type=refresh_token");
    if (c && c->service && *c->service) {
        ml__buf_puts(&b, "&service=");
        buf_escape(&b, c->service);
    }
    ml__buf_puts(&b, "&client_id=mlist&refresh_token=");
    buf_escape(&b, refresh_token);
    if (s && s->items.count) {
        ml__buf joined = {0};
        for (size_t i = 0; i < s->items.count; i++) {
            if (i)
                ml__buf_puts(&joined, " ");
            ml__buf_puts(&joined, s->items.items[i]);
        }
        char *j = ml__buf_take(&joined);
        if (!j) {
            ml__buf_free(&b);
            return NULL;
        }
        ml__buf_puts(&b, "&scope=");
        buf_escape(&b, j);
        free(j);
    }
    return ml__buf_take(&b);
}

/* ---- Base64 (RFC 4648 section 4) ----------------------------------------- */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *ml__base64_encode(const void *data, size_t len)
{
    const unsigned char *in = data;
    size_t groups = len / 3 + (len % 3 != 0), outlen;
    if (!ml__size_mul(groups, 4, &outlen) || !ml__size_add(outlen, 1, &outlen))
        return NULL;
    char *out = malloc(outlen);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < len) {
        unsigned long v = (unsigned long)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned long)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int ml__base64_decode(const char *s, char **out, size_t *len)
{
    if (!s || !out || !len)
        return ML_EINVAL;
    size_t n = strlen(s), pad = 0;
    while (pad < n && s[n - pad - 1] == '=')
        pad++;
    if (pad > 2 || (pad && n % 4 != 0))
        return ML_EINVAL;
    n -= pad;
    if (n % 4 == 1)
        return ML_EINVAL;
    size_t outlen = n / 4 * 3 + (n % 4 == 3 ? 2 : n % 4 == 2 ? 1 : 0);
    char *buf = malloc(outlen + 1);
    if (!buf)
        return ML_ENOMEM;
    size_t o = 0;
    unsigned long acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            free(buf);
            return ML_EINVAL;
        }
        acc = (acc << 6 | (unsigned long)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (char)(acc >> bits & 0xff);
        }
    }
    buf[o] = '\0';
    *out = buf;
    *len = o;
    return ML_OK;
}
