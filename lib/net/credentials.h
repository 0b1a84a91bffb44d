/* Registry credentials from containers auth.json and docker config.json,
 * including docker-credential-* helpers. */
#ifndef ML_CREDENTIALS_H
#define ML_CREDENTIALS_H

#include <stdbool.h>

#include "error.h"

/* Config files larger than this are refused (real ones are a few KiB). */
#define ML__CRED_FILE_MAX (1024 * 1024)
/* Bounds on a credential helper: output per stream and run time. */
#define ML__CRED_HELPER_OUTPUT_MAX (64 * 1024)
#define ML__CRED_HELPER_TIMEOUT_MS 30000

typedef struct ml__cred {
    char *username;      /* "<token>" for an identity token without user name */
    char *secret;        /* password or identity token */
    bool identity_token; /* secret is an OAuth2 refresh token (identitytoken) */
    char *where;         /* for messages: where they came from ("FILE, entry \"KEY\"",
                          * "credential helper docker-credential-NAME"); after a
                          * lookup that found none, every place looked at */
} ml__cred;

/* NULL or empty members (or a NULL struct) mean the environment defaults. */
typedef struct ml__cred_sources {
    const char *auth_file;         /* containers auth.json, e.g. --authfile */
    const char *docker_config_dir; /* directory holding config.json */
} ml__cred_sources;

/* Credentials for a registry host ("docker.io", "localhost:5000"), first
 * match wins:
 *  1. containers auth.json: src->auth_file, else $REGISTRY_AUTH_FILE, else
 *     $XDG_RUNTIME_DIR/containers/auth.json; "auths" entries only. A missing
 *     default file is skipped, a missing named one is ML_EIO.
 *  2. docker config.json in src->docker_config_dir, else $DOCKER_CONFIG, else
 *     $HOME/.docker (missing file skipped): credHelpers[registry], else
 *     credsStore (the helper's answer is final, as in docker), else auths.
 * Keys match after stripping "http(s)://" and, for docker config.json, any
 * path; docker.io also matches index.docker.io, registry-1.docker.io and
 * "https://index.docker.io/v1/". auths entries hold "auth" (base64
 * "user:password") or "identitytoken" (identity_token set, username from
 * "username" or "<token>").
 * Nothing found: ML_OK with *found false and out->where listing the
 * files and helper consulted (NULL when none). Malformed files: ML_EAUTH naming
 * the file; unreadable ones: ML_EIO (ML_ETOOBIG beyond ML__CRED_FILE_MAX).
 * Helper failures: ML_EAUTH naming the helper. ML_EINVAL for a registry
 * that is not a host[:port]. Messages never contain secrets. *out is
 * cleared on entry. */
int ml__cred_lookup(const ml__cred_sources *src, const char *registry, ml__cred *out, bool *found,
                    ml_error **err);
void ml__cred_clear(ml__cred *c);

/* Runs "docker-credential-<helper> get" (found through PATH, no shell) with
 * server_url on stdin, waiting at most timeout_ms before killing it. A
 * "credentials not found" answer is ML_OK with *found false. */
int ml__cred_helper_get(const char *helper, const char *server_url, int timeout_ms, ml__cred *out,
                        bool *found, ml_error **err);

/* The server URL docker uses for a registry with helpers and auths keys:
 * "https://index.docker.io/v1/" for Docker Hub, else the host itself. */
const char *ml__cred_server_url(const char *registry);

#endif
