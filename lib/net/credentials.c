/* Registry credentials: containers-auth.json(5), docker config.json
 * (docker/cli cli/config/configfile) and the docker-credential-helpers
 * protocol (docker/docker-credential-helpers client/client.go).
 *
 * Helpers run without a shell (proc.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


#include "auth.h"
#include "credentials.h"
#include "fileio.h"
#include "json.h"
#include "proc.h"
#include "util.h"

#define HUB_SERVER_URL "https://index.docker.io/v1/"
/* Registry names are host[:port]; the bound also keeps the helper's stdin
 * far below PIPE_BUF (at least 512), the capacity POSIX guarantees. */
#define REGISTRY_MAX 256
#define HELPER_NAME_MAX 128
/* Helper messages quoted in errors. */
#define MESSAGE_MAX 200
#define KEY_QUOTE_MAX 100

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

void ml__cred_clear(ml__cred *c)
{
    if (!c)
        return;
    free(c->username);
    if (c->secret) {
        ml__wipe(c->secret, strlen(c->secret));
        free(c->secret);
    }
    free(c->where);
    *c = (ml__cred){0};
}

static void wipe_free(char *s, size_t len)
{
    ml__wipe(s, len);
    free(s);
}

/* ---- Registry keys --------------------------------------------------------- */

static bool icontains(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (ml__ieq_n(hay + i, n, needle, n))
            return true;
    return false;
}

static bool is_hub(const char *host, size_t len)
{
    return ml__ieq_n(host, len, "docker.io", 9) || ml__ieq_n(host, len, "index.docker.io", 15) ||
           ml__ieq_n(host, len, "registry-1.docker.io", 20);
}

const char *ml__cred_server_url(const char *registry)
{
    return registry && is_hub(registry, strlen(registry)) ? HUB_SERVER_URL : registry;
}

/* How well an auths/credHelpers key names the registry: 0 exact, 1 Docker
 * Hub's classic URL, 2 same host after normalising, -1 no match.
 * docker config.json keys lose scheme and path (docker's ConvertToHostname).
 * In auth.json a key without scheme but with a path is a namespace
 * ("quay.io/org"), which a host-wide lookup must not use. */
static int key_score(const char *key, const char *registry, bool docker_style)
{
    size_t rlen = strlen(registry);
    if (strcmp(key, registry) == 0)
        return 0;
    bool hub = is_hub(registry, rlen);
    if (hub && strcmp(key, HUB_SERVER_URL) == 0)
        return 1;
    const char *host = key;
    bool scheme = false;
    if (ml__has_iprefix(host, "https://")) {
        host += 8;
        scheme = true;
    } else if (ml__has_iprefix(host, "http://")) {
        host += 7;
        scheme = true;
    }
    size_t hlen = strcspn(host, "/");
    if (host[hlen] == '/' && host[hlen + 1] != '\0' && !scheme && !docker_style)
        return -1;
    if (hlen == 0)
        return -1;
    if (ml__ieq_n(host, hlen, registry, rlen) || (hub && is_hub(host, hlen)))
        return 2;
    return -1;
}

/* ---- Config files ------------------------------------------------------ */

/* Loads a JSON config file. Returns ML_OK with *root NULL when the file is
 * missing and optional; an empty file is an empty object. */
static int load_json(const char *path, bool optional, ml__json **root, ml_error **err)
{
    *root = NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (optional && (errno == ENOENT || errno == ENOTDIR))
            return ML_OK;
        return ml__error_set(err, ML_EIO, "%s: %s", path, ml__strerror(errno).text);
    }
    char *data = NULL;
    size_t len = 0;
    int rc = ml__read_file(path, ML__CRED_FILE_MAX, &data, &len, err);
    if (rc != ML_OK)
        return rc;
    size_t start = 0;
    while (start < len && strchr(" \t\r\n", data[start]) && data[start] != '\0')
        start++;
    if (start == len)
        rc = ml__json_parse(root, "{}", 2, ML_EAUTH, err);
    else if ((rc = ml__json_parse(root, data, len, ML_EAUTH, err)) != ML_OK)
        ml__error_prefix(err, rc, "%s", path);
    wipe_free(data, len);
    return rc;
}

/* Member `key` of root when it is an object (NULL when absent or null). */
static int object_member(const ml__json *root, const char *key, const char *path, const ml__json **out,
                         ml_error **err)
{
    const ml__json *item = ml__json_get(root, key);
    *out = NULL;
    if (!item || ml__json_is_null(item))
        return ML_OK;
    if (!ml__json_is_object(item))
        return ml__error_set(err, ML_EAUTH, "%s: \"%s\" is not an object", path, key);
    *out = item;
    return ML_OK;
}

static int entry_fail(ml_error **err, const char *path, const char *section, const char *key,
                      const char *what)
{
    char *k = ml__sanitize(key, strlen(key), KEY_QUOTE_MAX);
    if (!k)
        return oom(err);
    ml__error_set(err, ML_EAUTH, "%s: %s entry \"%s\": %s", path, section, k, what);
    free(k);
    return ML_EAUTH;
}

/* String member of an entry: NULL when absent, null or empty; ML_EAUTH for
 * another type. */
static int entry_string(const ml__json *entry, const char *member, const char *path, const char *key,
                        const char **out, ml_error **err)
{
    const ml__json *item = ml__json_get(entry, member);
    *out = NULL;
    if (!item || ml__json_is_null(item))
        return ML_OK;
    const char *value = ml__json_string(item);
    if (!value) {
        char what[64];
        snprintf(what, sizeof(what), "\"%s\" is not a string", member);
        return entry_fail(err, path, "auths", key, what);
    }
    if (value[0])
        *out = value;
    return ML_OK;
}

/* Reads one auths entry; *found stays false for an entry without
 * credentials (docker writes "{}" for registries kept in a credsStore). */
static int parse_auth_entry(const ml__json *entry, const char *path, const char *key, ml__cred *out,
                            bool *found, ml_error **err)
{
    if (!ml__json_is_object(entry))
        return entry_fail(err, path, "auths", key, "not an object");
    const char *identity = NULL, *auth = NULL, *user = NULL;
    int rc;
    if ((rc = entry_string(entry, "identitytoken", path, key, &identity, err)) != ML_OK ||
        (rc = entry_string(entry, "auth", path, key, &auth, err)) != ML_OK ||
        (rc = entry_string(entry, "username", path, key, &user, err)) != ML_OK)
        return rc;
    if (identity) {
        out->username = ml__strdup(user ? user : "<token>");
        out->secret = ml__strdup(identity);
        out->identity_token = true;
        if (!out->username || !out->secret) {
            ml__cred_clear(out);
            return oom(err);
        }
        *found = true;
        return ML_OK;
    }
    if (!auth)
        return ML_OK;
    char *decoded = NULL;
    size_t len = 0;
    rc = ml__base64_decode(auth, &decoded, &len);
    if (rc == ML_ENOMEM)
        return oom(err);
    if (rc != ML_OK)
        return entry_fail(err, path, "auths", key, "\"auth\" is not valid base64");
    char *colon = memchr(decoded, ':', len);
    if (!colon || memchr(decoded, '\0', len)) {
        wipe_free(decoded, len);
        return entry_fail(err, path, "auths", key, "\"auth\" is not base64 of \"user:password\"");
    }
    out->username = ml__strndup(decoded, (size_t)(colon - decoded));
    out->secret = ml__strdup(colon + 1);
    wipe_free(decoded, len);
    if (!out->username || !out->secret) {
        ml__cred_clear(out);
        return oom(err);
    }
    *found = true;
    return ML_OK;
}

/* "FILE, entry "KEY"": which credentials a message is about. */
static int set_where(ml__cred *out, const char *path, const char *key, ml_error **err)
{
    char *k = ml__sanitize(key, strlen(key), KEY_QUOTE_MAX);
    out->where = k ? ml__asprintf("%s, entry \"%s\"", path, k) : NULL;
    free(k);
    return out->where ? ML_OK : oom(err);
}

/* Looks the registry up in an "auths" object: the best-scoring entries
 * first, file order among equals; the first entry with credentials wins. */
static int lookup_auths(const ml__json *auths, const char *path, const char *registry, bool docker_style,
                        ml__cred *out, bool *found, ml_error **err)
{
    for (int score = 0; score <= 2; score++) {
        for (const ml__json *e = ml__json_first(auths); e; e = ml__json_next(e)) {
            if (key_score(ml__json_key(e), registry, docker_style) != score)
                continue;
            int rc = parse_auth_entry(e, path, ml__json_key(e), out, found, err);
            if (rc == ML_OK && *found)
                rc = set_where(out, path, ml__json_key(e), err);
            if (rc != ML_OK || *found)
                return rc;
        }
    }
    return ML_OK;
}

/* credHelpers: the helper name for the registry, or NULL. */
static int lookup_helper(const ml__json *helpers, const char *path, const char *registry,
                         const char **out, ml_error **err)
{
    *out = NULL;
    for (int score = 0; score <= 2; score++) {
        for (const ml__json *e = ml__json_first(helpers); e; e = ml__json_next(e)) {
            if (key_score(ml__json_key(e), registry, true) != score)
                continue;
            const char *name = ml__json_string(e);
            if (!name)
                return entry_fail(err, path, "credHelpers", ml__json_key(e), "not a string");
            if (name[0]) {
                *out = name;
                return ML_OK;
            }
        }
    }
    return ML_OK;
}

/* ---- Credential helpers ------------------------------------------------ */

static bool helper_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > HELPER_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* Runs "prog get" with `input` on stdin within the time and size bounds;
 * how it ended is in *run. Failing to run it at all is ML_EAUTH naming it. */
static int run_helper(const char *prog, const char *input, int timeout_ms, ml__proc_result *run,
                      ml_error **err)
{
    const char *argv[] = {prog, "get", NULL};
    ml__proc_spec spec = {.argv = argv, .input = input, .input_len = strlen(input), .timeout_ms = timeout_ms,
                          .output_max = ML__CRED_HELPER_OUTPUT_MAX};
    ml_error *inner = NULL;
    int rc = ml__proc_run(&spec, run, &inner);
    if (rc == ML_ENOMEM)
        rc = oom(err);
    else if (rc == ML_ENOTFOUND)
        rc = ml__error_set(err, ML_EAUTH, "credential helper %s not found in PATH", prog);
    else if (rc != ML_OK)
        rc = ml__error_set(err, ML_EAUTH, "credential helper %s: %s", prog,
                           inner ? ml_error_message(inner) : ml_strerror(rc));
    else if (run->end == ML__PROC_TIMED_OUT)
        rc = ml__error_set(err, ML_EAUTH, "credential helper %s: no answer within %d ms", prog, timeout_ms);
    else if (run->end == ML__PROC_TOO_BIG)
        rc = ml__error_set(err, ML_EAUTH, "credential helper %s: output exceeds %d bytes", prog,
                           ML__CRED_HELPER_OUTPUT_MAX);
    ml_error_free(inner);
    return rc;
}

/* First non-empty line of a helper's message, sanitised and bounded. */
static char *helper_message(const ml__proc_result *run)
{
    const ml__buf *src = &run->err;
    size_t skip = src->data ? strspn(src->data, " \t\r\n") : 0;
    /* Without stderr fall back to stdout, unless stdout looks like a
     * credentials answer: that could hold a secret. */
    if (!src->data || skip == src->len) {
        src = &run->out;
        if (!src->data || memchr(src->data, '\0', src->len) || strstr(src->data, "Secret"))
            return ml__strdup("");
        skip = strspn(src->data, " \t\r\n");
    }
    const char *line = src->data + skip;
    size_t len = strcspn(line, "\r\n");
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    return ml__sanitize(line, len, MESSAGE_MAX);
}

static bool not_found_answer(const ml__proc_result *run)
{
    return icontains(run->out.data ? run->out.data : "", run->out.len, "credentials not found") ||
           icontains(run->err.data ? run->err.data : "", run->err.len, "credentials not found");
}

/* Parses {"ServerURL": ..., "Username": ..., "Secret": ...}. */
static int parse_helper_answer(const char *prog, const ml__proc_result *run, ml__cred *out, bool *found,
                               ml_error **err)
{
    ml__json *root;
    if (ml__json_parse(&root, run->out.data, run->out.len, ML_EAUTH, NULL) != ML_OK) {
        if (not_found_answer(run))
            return ML_OK;
        return ml__error_set(err, ML_EAUTH, "credential helper %s: answer is not a JSON object", prog);
    }
    const ml__json *user = ml__json_get(root, "Username");
    const ml__json *secret = ml__json_get(root, "Secret");
    const char *u = ml__json_string(user), *s = ml__json_string(secret);
    if ((user && !ml__json_is_null(user) && !u) || (secret && !ml__json_is_null(secret) && !s)) {
        ml__json_free_wiped(root);
        return ml__error_set(err, ML_EAUTH,
                             "credential helper %s: \"Username\" or \"Secret\" is not a string", prog);
    }
    if (!s || !*s) {
        /* docker treats an empty answer like "not found". */
        ml__json_free_wiped(root);
        return ML_OK;
    }
    out->username = ml__strdup(u ? u : "");
    out->secret = ml__strdup(s);
    out->identity_token = u && strcmp(u, "<token>") == 0;
    ml__json_free_wiped(root);
    if (!out->username || !out->secret) {
        ml__cred_clear(out);
        return oom(err);
    }
    *found = true;
    return ML_OK;
}

int ml__cred_helper_get(const char *helper, const char *server_url, int timeout_ms, ml__cred *out,
                        bool *found, ml_error **err)
{
    *out = (ml__cred){0};
    *found = false;
    if (!helper || !helper_name_valid(helper)) {
        char *h = helper ? ml__sanitize(helper, strlen(helper), KEY_QUOTE_MAX) : NULL;
        ml__error_set(err, ML_EAUTH, "invalid credential helper name \"%s\"", h ? h : "");
        free(h);
        return ML_EAUTH;
    }
    if (!server_url || strlen(server_url) > REGISTRY_MAX + 32)
        return ml__error_set(err, ML_EINVAL, "credential helper: invalid server URL");
    char *prog = ml__asprintf("docker-credential-%s", helper);
    if (!prog)
        return oom(err);
    ml__proc_result run = {0};
    int rc = run_helper(prog, server_url, timeout_ms, &run, err);
    if (rc == ML_OK) {
        bool exited = run.end == ML__PROC_EXITED;
        if (run.end == ML__PROC_UNKNOWN || (exited && run.code == 0)) {
            rc = parse_helper_answer(prog, &run, out, found, err);
        } else if (exited && run.code == 127 && run.out.len == 0 && run.err.len == 0) {
            /* posix_spawnp implementations built on fork report a failed
             * exec as exit status 127 instead of an error. */
            rc = ml__error_set(err, ML_EAUTH, "credential helper %s not found in PATH", prog);
        } else if (!not_found_answer(&run)) {
            char *msg = helper_message(&run);
            char how[48];
            snprintf(how, sizeof(how), exited ? "exit status %d" : "killed by signal %d", run.code);
            if (!msg)
                rc = oom(err);
            else if (*msg)
                rc = ml__error_set(err, ML_EAUTH, "credential helper %s failed (%s): %s", prog, how, msg);
            else
                rc = ml__error_set(err, ML_EAUTH, "credential helper %s failed (%s)", prog, how);
            free(msg);
        }
    }
    ml__proc_result_clear(&run);
    free(prog);
    return rc;
}

/* ---- Lookup ------------------------------------------------------------ */

static bool registry_valid(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > REGISTRY_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)r; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '/')
            return false;
    return true;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Adds a place consulted to the list a "none found" message gives. */
static void note_looked(ml__buf *looked, const char *kind, const char *what)
{
    ml__buf_puts(looked, looked->len ? ", " : "");
    ml__buf_puts(looked, kind);
    ml__buf_puts(looked, what);
}

static int lookup_auth_json(const ml__cred_sources *src, const char *registry, ml__cred *out,
                            bool *found, ml__buf *looked, ml_error **err)
{
    const char *named = src && src->auth_file && *src->auth_file ? src->auth_file
                                                                  : env("REGISTRY_AUTH_FILE");
    char *path = NULL;
    if (!named) {
        const char *xdg = env("XDG_RUNTIME_DIR");
        if (!xdg)
            return ML_OK;
        if (!(path = ml__asprintf("%s/containers/auth.json", xdg)))
            return oom(err);
    }
    const char *p = named ? named : path;
    note_looked(looked, "", p);
    ml__json *root = NULL;
    int rc = load_json(p, named == NULL, &root, err);
    const ml__json *auths = NULL;
    if (rc == ML_OK && root)
        rc = object_member(root, "auths", p, &auths, err);
    if (rc == ML_OK && auths)
        rc = lookup_auths(auths, p, registry, false, out, found, err);
    ml__json_free_wiped(root);
    free(path);
    return rc;
}

static int lookup_docker_config(const ml__cred_sources *src, const char *registry, ml__cred *out,
                                bool *found, ml__buf *looked, ml_error **err)
{
    char *path = NULL;
    const char *dir = src && src->docker_config_dir && *src->docker_config_dir ? src->docker_config_dir
                                                                            : env("DOCKER_CONFIG");
    if (dir) {
        path = ml__asprintf("%s/config.json", dir);
    } else {
        const char *home = env("HOME");
        if (!home)
            return ML_OK;
        path = ml__asprintf("%s/.docker/config.json", home);
    }
    if (!path)
        return oom(err);
    note_looked(looked, "", path);
    ml__json *root = NULL;
    int rc = load_json(path, true, &root, err);
    if (rc != ML_OK || !root) {
        free(path);
        return rc;
    }
    const ml__json *helpers = NULL, *auths = NULL;
    const char *helper = NULL;
    rc = object_member(root, "credHelpers", path, &helpers, err);
    if (rc == ML_OK && helpers)
        rc = lookup_helper(helpers, path, registry, &helper, err);
    if (rc == ML_OK && !helper) {
        const ml__json *store = ml__json_get(root, "credsStore");
        const char *name = ml__json_string(store);
        if (store && !ml__json_is_null(store) && !name)
            rc = ml__error_set(err, ML_EAUTH, "%s: \"credsStore\" is not a string", path);
        else if (name && name[0])
            helper = name;
    }
    if (rc == ML_OK && helper) {
        note_looked(looked, "credential helper docker-credential-", helper);
        rc = ml__cred_helper_get(helper, ml__cred_server_url(registry), ML__CRED_HELPER_TIMEOUT_MS,
                                 out, found, err);
        if (rc == ML_OK && *found &&
            !(out->where = ml__asprintf("credential helper docker-credential-%s (%s)", helper, path)))
            rc = oom(err);
        if (rc != ML_OK && rc != ML_ENOMEM)
            ml__error_prefix(err, rc, "%s", path);
    } else if (rc == ML_OK) {
        rc = object_member(root, "auths", path, &auths, err);
        if (rc == ML_OK && auths)
            rc = lookup_auths(auths, path, registry, true, out, found, err);
    }
    ml__json_free_wiped(root);
    free(path);
    return rc;
}

int ml__cred_lookup(const ml__cred_sources *src, const char *registry, ml__cred *out, bool *found,
                    ml_error **err)
{
    *out = (ml__cred){0};
    *found = false;
    if (!registry || !registry_valid(registry)) {
        char *r = registry ? ml__sanitize(registry, strlen(registry), KEY_QUOTE_MAX) : NULL;
        ml__error_set(err, ML_EINVAL, "credentials: invalid registry name \"%s\"", r ? r : "");
        free(r);
        return ML_EINVAL;
    }
    ml__buf looked = {0};
    int rc = lookup_auth_json(src, registry, out, found, &looked, err);
    if (rc == ML_OK && !*found)
        rc = lookup_docker_config(src, registry, out, found, &looked, err);
    if (rc == ML_OK && looked.oom)
        rc = oom(err);
    if (rc != ML_OK) {
        ml__cred_clear(out);
        *found = false;
    } else if (!*found) {
        out->where = looked.len ? ml__buf_take(&looked) : NULL;
    }
    ml__buf_free(&looked);
    return rc;
}
