/* Registry authentication building blocks: WWW-Authenticate challenges,
 * token endpoint answers, scope sets and the encodings the token requests
 * need. Pure functions without I/O; the HTTP code drives them. */
#ifndef ML_AUTH_H
#define ML_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

/* Longest WWW-Authenticate value parsed; real ones are a few hundred bytes. */
#define ML__AUTH_HEADER_MAX 8192
/* Token lifetime bounds in seconds. The distribution token spec says a
 * missing or smaller "expires_in" means 60; the upper bound keeps the
 * double-to-integer conversion defined and the cache honest. */
#define ML__TOKEN_MIN_EXPIRES 60
#define ML__TOKEN_MAX_EXPIRES 31536000

typedef enum { ML__AUTH_NONE, ML__AUTH_BASIC, ML__AUTH_BEARER } ml__auth_scheme;

typedef struct ml__challenge {
    ml__auth_scheme scheme;
    char *realm;   /* Bearer: token endpoint URL (http or https); Basic: optional */
    char *service; /* NULL when absent */
    char *scope;   /* NULL when absent; may hold several space-separated scopes */
    char *error;   /* RFC 6750 error code such as "insufficient_scope", or NULL */
} ml__challenge;

/* Parses a WWW-Authenticate value (RFC 7235 section 4.1, RFC 6750 section 3):
 * several comma-separated challenges, quoted-strings with backslash escapes,
 * token68, case-insensitive scheme and parameter names, optional whitespace.
 * Bearer is preferred over Basic; other schemes are skipped. A Bearer realm
 * must be an http(s) URL. On failure (ML_EAUTH, ML_ENOMEM) *out is cleared and
 * the message quotes a bounded, sanitised prefix of the header. */
int ml__challenge_parse(const char *header, ml__challenge *out, ml_error **err);
void ml__challenge_clear(ml__challenge *c);

/* Token endpoint answer (distribution docs/spec/auth/token.md, and the OAuth2
 * form of docs/spec/auth/oauth.md). */
typedef struct ml__token {
    char *token;         /* "token", else "access_token"; visible ASCII only */
    int64_t expires_in;  /* seconds, ML__TOKEN_MIN_EXPIRES..ML__TOKEN_MAX_EXPIRES */
    char *refresh_token; /* NULL when absent */
} ml__token;

/* Parses the JSON body of a token answer. ML_EAUTH for invalid JSON, wrong
 * types or no token; the message never contains the body. */
int ml__token_parse(const char *body, size_t len, ml__token *out, ml_error **err);
void ml__token_clear(ml__token *t);

/* Set of token scopes "TYPE:NAME:ACTIONS" ("repository:library/alpine:pull").
 * One item per resource: adding a resource again merges its actions. Actions
 * are kept in the order pull, push, delete, "*", then any others sorted;
 * items are sorted by "TYPE:NAME", so equal sets format identically. */
typedef struct ml__scopes {
    ml__strvec items;
} ml__scopes;

/* Adds "repository:<repository>:<actions>"; actions is a comma-separated
 * list ("pull" or "pull,push"). ML_EINVAL for an empty or malformed name or
 * action, ML_ENOMEM. On failure the set is unchanged. */
int ml__scopes_add(ml__scopes *s, const char *repository, const char *actions);
/* Adds one or more space-separated scope strings as a challenge's "scope"
 * parameter carries them ("repository:a:pull registry:catalog:*"). The last
 * ':' separates the actions. ML_EINVAL / ML_ENOMEM; unchanged on failure. */
int ml__scopes_add_string(ml__scopes *s, const char *scopes);
/* True when every action of every item of `want` is in `have` (literal
 * comparison: "*" only covers "*"). An empty `want` is covered. */
bool ml__scopes_cover(const ml__scopes *have, const ml__scopes *want);
/* Adds all items of src to dst; dst is unchanged on failure. */
int ml__scopes_merge(ml__scopes *dst, const ml__scopes *src);
void ml__scopes_free(ml__scopes *s);

/* Token request URL: realm + "?" (or "&" when the realm has a query) +
 * "service=..." when known, then one "scope=..." per item, all values
 * URL-escaped. NULL when c has no realm or out of memory. */
char *ml__token_url(const ml__challenge *c, const ml__scopes *s);
/* application/x-www-form-urlencoded body of an OAuth2 refresh-token POST:
 * "grant_type=refresh_token&service=..&client_id=mlist&refresh_token=..
 * &scope=..", the scopes joined by spaces (RFC 6749 section 3.3); service and
 * scope are left out when empty. NULL when refresh_token is NULL or out of
 * memory. */
char *ml__token_form(const ml__challenge *c, const ml__scopes *s, const char *refresh_token);

/* RFC 4648 section 4 base64 with padding. NULL only when out of memory. */
char *ml__base64_encode(const void *data, size_t len);
/* Decodes standard base64; padding may be left out. ML_EINVAL on bad input,
 * ML_ENOMEM. *out is NUL-terminated (it may also hold NULs), *len excludes
 * the terminator; both untouched on failure. */
int ml__base64_decode(const char *s, char **out, size_t *len);
/* Percent-encodes every byte outside RFC 3986 "unreserved". */
char *ml__url_escape(const char *s);

#endif
