#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "credentials.h"
#include "fileio.h"
#include "test.h"

/* Every secret the fixtures hold: none may appear in an error message. */
static const char *const secrets[] = {
    "pw-auth-json", "pw-docker", "pw-env",  "pw-explicit",        "idtok-secret",
    "hub-helper-secret", "helper-secret", "helper-identity-secret", "LEAKED-HELPER-SECRET",
    "BADJSON-SECRET", "nocolon-secret", "noread-secret", "gc-secret", "pw-hub",
};

static char tmp[PATH_MAX];

static char *path_in(const char *rel) { return ml__asprintf("%s/%s", tmp, rel); }

static void write_file(const char *rel, const char *content)
{
    char *path = path_in(rel);
    /* Create the parent directories. */
    for (char *p = path + strlen(tmp) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(content, f);
        fclose(f);
    }
    free(path);
}

static void remove_file(const char *rel)
{
    char *path = path_in(rel);
    unlink(path);
    free(path);
}

/* base64 of "user:password" for config files. */
static char *auth_value(const char *userpass) { return ml__base64_encode(userpass, strlen(userpass)); }

static void write_auths(const char *rel, const char *key, const char *userpass, const char *extra)
{
    char *b64 = auth_value(userpass);
    char *json = ml__asprintf("{%s\"auths\": {\"%s\": {\"auth\": \"%s\"}}}", extra ? extra : "", key, b64);
    write_file(rel, json);
    free(json);
    free(b64);
}

/* Default environment: XDG_RUNTIME_DIR and HOME inside tmp, nothing else. */
static void reset_env(void)
{
    char *run = path_in("run");
    char *home = path_in("home");
    setenv("XDG_RUNTIME_DIR", run, 1);
    setenv("HOME", home, 1);
    unsetenv("REGISTRY_AUTH_FILE");
    unsetenv("DOCKER_CONFIG");
    free(run);
    free(home);
    remove_file("run/containers/auth.json");
    remove_file("home/.docker/config.json");
}

static void check_no_secret(const ml_error *err)
{
    const char *msg = err ? ml_error_message(err) : NULL;
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        if (test_contains(msg, secrets[i]))
            fprintf(stderr, "  secret \"%s\" in: %s\n", secrets[i], msg);
        CHECK(!test_contains(msg, secrets[i]));
    }
}

/* Looks up and expects credentials. */
static void expect_cred(const ml__cred_sources *src, const char *registry, const char *user,
                        const char *secret, bool identity)
{
    ml__cred c;
    bool found = false;
    ml_error *err = NULL;
    int rc = ml__cred_lookup(src, registry, &c, &found, &err);
    CHECK_INT(rc, ML_OK);
    if (rc != ML_OK)
        fprintf(stderr, "  unexpected error for %s: %s\n", registry, ml_error_message(err));
    CHECK(found);
    CHECK_STR(c.username, user);
    CHECK_STR(c.secret, secret);
    CHECK_INT(c.identity_token, identity);
    ml__cred_clear(&c);
    CHECK(c.username == NULL && c.secret == NULL);
    ml_error_free(err);
}

static void expect_none(const ml__cred_sources *src, const char *registry)
{
    ml__cred c;
    bool found = true;
    ml_error *err = NULL;
    int rc = ml__cred_lookup(src, registry, &c, &found, &err);
    CHECK_INT(rc, ML_OK);
    if (rc != ML_OK)
        fprintf(stderr, "  unexpected error for %s: %s\n", registry, ml_error_message(err));
    CHECK(!found);
    CHECK(c.username == NULL && c.secret == NULL);
    ml__cred_clear(&c);
    ml_error_free(err);
}

/* Where credentials came from, or where a lookup that found none looked. */
static void expect_where(const ml__cred_sources *src, const char *registry, const char *where)
{
    ml__cred c;
    bool found = false;
    CHECK_INT(ml__cred_lookup(src, registry, &c, &found, NULL), ML_OK);
    CHECK_STR(c.where, where);
    ml__cred_clear(&c);
    CHECK(c.where == NULL);
}

/* Expects the code and a message containing each of the needles. */
static void expect_error(const ml__cred_sources *src, const char *registry, int code,
                         const char *needle1, const char *needle2)
{
    ml__cred c;
    bool found = true;
    ml_error *err = NULL;
    CHECK_INT(ml__cred_lookup(src, registry, &c, &found, &err), code);
    CHECK(!found);
    CHECK(c.username == NULL && c.secret == NULL);
    const char *msg = ml_error_message(err);
    CHECK(test_contains(msg, needle1));
    if (needle2)
        CHECK(test_contains(msg, needle2));
    if (!test_contains(msg, needle1) || (needle2 && !test_contains(msg, needle2)))
        fprintf(stderr, "  message: %s\n", msg ? msg : "(none)");
    check_no_secret(err);
    ml_error_free(err);
}

static void test_nothing_configured(void)
{
    reset_env();
    expect_none(NULL, "localhost:5000");
    expect_none(NULL, "docker.io");
    unsetenv("HOME");
    unsetenv("XDG_RUNTIME_DIR");
    expect_none(NULL, "localhost:5000");
    ml__cred_sources src = {NULL, "/nonexistent/docker-config-dir"};
    expect_none(&src, "localhost:5000");
    reset_env();
}

static void test_invalid_registry(void)
{
    reset_env();
    expect_error(NULL, "", ML_EINVAL, "invalid registry name", NULL);
    expect_error(NULL, "a b", ML_EINVAL, "invalid registry name", NULL);
    expect_error(NULL, "host/path", ML_EINVAL, "invalid registry name", NULL);
    ml__cred c;
    bool found;
    CHECK_INT(ml__cred_lookup(NULL, NULL, &c, &found, NULL), ML_EINVAL);
}

static void test_auth_json_sources_and_order(void)
{
    reset_env();
    /* Default auth.json under XDG_RUNTIME_DIR. */
    write_auths("run/containers/auth.json", "localhost:5000", "alice:pw-auth-json", NULL);
    expect_cred(NULL, "localhost:5000", "alice", "pw-auth-json", false);
    expect_none(NULL, "localhost:5001");

    /* auth.json wins over docker config.json; the latter fills gaps. */
    write_file("home/.docker/config.json", "{\"auths\": {"
                                           "\"localhost:5000\": {\"auth\": \"Ym9iOnB3LWRvY2tlcg==\"},"
                                           "\"other.example\": {\"auth\": \"Ym9iOnB3LWRvY2tlcg==\"}}}");
    expect_cred(NULL, "localhost:5000", "alice", "pw-auth-json", false);
    expect_cred(NULL, "other.example", "bob", "pw-docker", false);
    /* Host names compare case-insensitively. */
    expect_cred(NULL, "Other.Example", "bob", "pw-docker", false);

    /* $REGISTRY_AUTH_FILE replaces the default; src->auth_file both. */
    write_auths("env-auth.json", "localhost:5000", "carol:pw-env", NULL);
    char *env_path = path_in("env-auth.json");
    setenv("REGISTRY_AUTH_FILE", env_path, 1);
    expect_cred(NULL, "localhost:5000", "carol", "pw-env", false);
    ml__cred_sources src = {"data/auth/auth.json", NULL};
    expect_cred(&src, "localhost:5000", "dave", "pw-explicit", false);
    expect_where(&src, "localhost:5000", "data/auth/auth.json, entry \"localhost:5000\"");
    ml__cred_sources nowhere = {"data/auth/auth.json", "/nonexistent/docker-config-dir"};
    expect_where(&nowhere, "none.example", "data/auth/auth.json, /nonexistent/docker-config-dir/config.json");
    /* An entry of the named file without credentials: on to docker config. */
    expect_cred(&src, "other.example", "bob", "pw-docker", false);

    /* Missing named files are errors; a missing default file is not. */
    src.auth_file = "/nonexistent/auth.json";
    expect_error(&src, "localhost:5000", ML_EIO, "/nonexistent/auth.json", NULL);
    setenv("REGISTRY_AUTH_FILE", "/nonexistent/env-auth.json", 1);
    expect_error(NULL, "localhost:5000", ML_EIO, "/nonexistent/env-auth.json", NULL);
    unsetenv("REGISTRY_AUTH_FILE");
    remove_file("run/containers/auth.json");
    expect_cred(NULL, "localhost:5000", "bob", "pw-docker", false);
    free(env_path);
    reset_env();
}

static void test_auth_json_keys(void)
{
    reset_env();
    /* Legacy keys with a scheme are normalised to the host. */
    write_auths("run/containers/auth.json", "https://legacy.example/v1/", "lee:pw-auth-json", NULL);
    expect_cred(NULL, "legacy.example", "lee", "pw-auth-json", false);
    /* A namespace key is not a host-wide credential. */
    write_auths("run/containers/auth.json", "quay.io/org", "ned:pw-auth-json", NULL);
    expect_none(NULL, "quay.io");
    write_auths("run/containers/auth.json", "quay.io/", "ned:pw-auth-json", NULL);
    expect_cred(NULL, "quay.io", "ned", "pw-auth-json", false);
    reset_env();
}

static void test_docker_config_dirs(void)
{
    reset_env();
    write_auths("dc1/config.json", "reg.example", "one:pw-docker", NULL);
    write_auths("dc2/config.json", "reg.example", "two:pw-docker", NULL);
    write_auths("home/.docker/config.json", "reg.example", "home:pw-docker", NULL);
    expect_cred(NULL, "reg.example", "home", "pw-docker", false);
    char *dc1 = path_in("dc1");
    char *dc2 = path_in("dc2");
    setenv("DOCKER_CONFIG", dc1, 1);
    expect_cred(NULL, "reg.example", "one", "pw-docker", false);
    ml__cred_sources src = {NULL, dc2};
    expect_cred(&src, "reg.example", "two", "pw-docker", false);
    /* The checked-in fixture directory. */
    src.docker_config_dir = "data/auth/docker";
    expect_cred(&src, "fixture.example", "fix", "pw-docker", false);
    free(dc1);
    free(dc2);
    reset_env();
}

static void test_docker_hub_aliases(void)
{
    static const char *keys[] = {"https://index.docker.io/v1/", "index.docker.io", "docker.io",
                                 "registry-1.docker.io", "https://registry-1.docker.io/v2/",
                                 "http://docker.io"};
    static const char *registries[] = {"docker.io", "index.docker.io", "registry-1.docker.io"};
    reset_env();
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        write_auths("home/.docker/config.json", keys[k], "hubby:pw-hub", NULL);
        for (size_t r = 0; r < sizeof(registries) / sizeof(registries[0]); r++)
            expect_cred(NULL, registries[r], "hubby", "pw-hub", false);
        expect_none(NULL, "ghcr.io");
        expect_none(NULL, "docker.io.example");
    }
    /* An exact key wins over an alias, whatever the order in the file. */
    write_file("home/.docker/config.json",
               "{\"auths\": {\"registry-1.docker.io\": {\"auth\": \"YWxpYXM6cHctaHVi\"},"
               "\"https://index.docker.io/v1/\": {\"auth\": \"Y2xhc3NpYzpwdy1odWI=\"},"
               "\"docker.io\": {\"auth\": \"ZXhhY3Q6cHctaHVi\"}}}");
    expect_cred(NULL, "docker.io", "exact", "pw-hub", false);
    expect_cred(NULL, "registry-1.docker.io", "alias", "pw-hub", false);
    expect_cred(NULL, "index.docker.io", "classic", "pw-hub", false);
    /* An empty entry (docker writes "{}" beside a credsStore) is skipped. */
    write_file("home/.docker/config.json",
               "{\"auths\": {\"docker.io\": {}, \"index.docker.io\": {\"auth\": \"YWxpYXM6cHctaHVi\"}}}");
    expect_cred(NULL, "docker.io", "alias", "pw-hub", false);
    reset_env();
}

static void test_identity_token(void)
{
    reset_env();
    write_file("home/.docker/config.json",
               "{\"auths\": {\"id.example\": {\"auth\": \"\", \"identitytoken\": \"idtok-secret\"},"
               "\"named.example\": {\"username\": \"bob\", \"identitytoken\": \"idtok-secret\"},"
               "\"both.example\": {\"auth\": \"dTpwdw==\", \"identitytoken\": \"idtok-secret\"}}}");
    expect_cred(NULL, "id.example", "<token>", "idtok-secret", true);
    expect_cred(NULL, "named.example", "bob", "idtok-secret", true);
    expect_cred(NULL, "both.example", "<token>", "idtok-secret", true);
    reset_env();
}

static void test_malformed_files(void)
{
    reset_env();
    char *cfg = path_in("home/.docker/config.json");
    static const struct {
        const char *json;
        const char *needle;
    } cases[] = {
        {"{\"auths\": {", "invalid JSON"},
        {"{\"auths\": {}} {}", "invalid JSON"},
        {"[\"pw-docker\"]", "not a JSON object"},
        {"{\"auths\": []}", "\"auths\" is not an object"},
        {"{\"auths\": {\"bad.example\": \"pw-docker\"}}", "auths entry \"bad.example\": not an object"},
        {"{\"auths\": {\"bad.example\": {\"auth\": 5}}}", "\"auth\" is not a string"},
        {"{\"auths\": {\"bad.example\": {\"identitytoken\": true}}}", "\"identitytoken\" is not a string"},
        {"{\"auths\": {\"bad.example\": {\"auth\": \"pw-docker!!\"}}}", "\"auth\" is not valid base64"},
        /* base64 of "nocolon-secret" */
        {"{\"auths\": {\"bad.example\": {\"auth\": \"bm9jb2xvbi1zZWNyZXQ=\"}}}", "\"user:password\""},
        {"{\"credHelpers\": {\"bad.example\": 5}}", "credHelpers entry \"bad.example\": not a string"},
        {"{\"credHelpers\": \"mltest\"}", "\"credHelpers\" is not an object"},
        {"{\"credsStore\": 5}", "\"credsStore\" is not a string"},
        /* the strict reader: Go's docker takes the last of two entries,
         * cJSON the first; \u0000 would cut a password short */
        {"{\"auths\": {\"bad.example\": {\"auth\": \"YTpi\"}, \"bad.example\": {}}}",
         "auths: duplicate key \"bad.example\""},
        {"{\"auths\": {\"bad.example\": {\"identitytoken\": \"pw\\u0000x\"}}}", "\\u0000 in a string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file("home/.docker/config.json", cases[i].json);
        expect_error(NULL, "bad.example", ML_EAUTH, cfg, cases[i].needle);
    }
    /* Malformed entries of other registries are not looked at. */
    write_file("home/.docker/config.json", "{\"auths\": {\"other.example\": {\"auth\": 5}}}");
    expect_none(NULL, "bad.example");
    /* An empty file is an empty configuration. */
    write_file("home/.docker/config.json", " \n");
    expect_none(NULL, "bad.example");
    /* Errors in auth.json name that file. */
    char *aj = path_in("run/containers/auth.json");
    write_file("run/containers/auth.json", "{\"auths\": 1}");
    expect_error(NULL, "bad.example", ML_EAUTH, aj, "\"auths\" is not an object");
    /* A directory where a file belongs. */
    remove_file("run/containers/auth.json");
    mkdir(aj, 0700);
    expect_error(NULL, "bad.example", ML_EIO, aj, NULL);
    rmdir(aj);
    /* A FIFO (no writer ever comes) is refused, not waited for. */
    CHECK_INT(mkfifo(aj, 0600), 0);
    expect_error(NULL, "bad.example", ML_EIO, aj, "is a FIFO");
    remove_file("run/containers/auth.json");
    remove_file("home/.docker/config.json");
    CHECK_INT(mkfifo(cfg, 0600), 0);
    expect_error(NULL, "bad.example", ML_EIO, cfg, "is a FIFO");
    remove_file("home/.docker/config.json");
    free(aj);
    free(cfg);
    reset_env();
}

static void test_cred_helpers(void)
{
    reset_env();
    write_file("home/.docker/config.json",
               "{\"credsStore\": \"mlnotfound\","
               " \"credHelpers\": {\"helper.example\": \"mltest\", \"docker.io\": \"mltest\","
               " \"token.example.com\": \"mltest\", \"missing.example.com\": \"mltest\","
               " \"fail.example\": \"mlfail\", \"leak.example\": \"mlleak\","
               " \"nope.example\": \"mlnope\", \"evil.example\": \"../mltest\","
               " \"empty.example\": \"mlempty\", \"badjson.example\": \"mlbadjson\","
               " \"noread.example\": \"mlnoread\", \"signal.example\": \"mlsignal\"},"
               " \"auths\": {\"helper.example\": {\"auth\": \"eDpwdy1kb2NrZXI=\"},"
               " \"store.example\": {\"auth\": \"eDpwdy1kb2NrZXI=\"}}}");
    /* The helper reads the server URL from stdin; docker.io uses the
     * classic index URL. */
    expect_cred(NULL, "helper.example", "u:helper.example", "helper-secret", false);
    expect_cred(NULL, "docker.io", "hubuser", "hub-helper-secret", false);
    expect_cred(NULL, "index.docker.io", "hubuser", "hub-helper-secret", false);
    expect_cred(NULL, "token.example.com", "<token>", "helper-identity-secret", true);
    expect_cred(NULL, "noread.example", "noread", "noread-secret", false);
    /* Not found in a helper: nothing, the helper's answer is final. */
    expect_none(NULL, "missing.example.com");
    expect_none(NULL, "empty.example");
    expect_none(NULL, "store.example"); /* credsStore mlnotfound */
    /* Failures name the helper, never the secret. */
    expect_error(NULL, "fail.example", ML_EAUTH, "docker-credential-mlfail failed (exit status 3)",
                 "keychain locked");
    expect_error(NULL, "leak.example", ML_EAUTH, "docker-credential-mlleak failed (exit status 1)", NULL);
    expect_error(NULL, "nope.example", ML_EAUTH, "docker-credential-mlnope not found", NULL);
    expect_error(NULL, "evil.example", ML_EAUTH, "invalid credential helper name \"../mltest\"", NULL);
    expect_error(NULL, "badjson.example", ML_EAUTH, "docker-credential-mlbadjson: answer is not a JSON", NULL);
    expect_error(NULL, "signal.example", ML_EAUTH, "docker-credential-mlsignal failed (killed by signal 9)",
                 NULL);
    char *cfg = path_in("home/.docker/config.json");
    expect_error(NULL, "fail.example", ML_EAUTH, cfg, NULL);
    char *where = ml__asprintf("credential helper docker-credential-mltest (%s)", cfg);
    expect_where(NULL, "helper.example", where);
    free(where);
    char *auth = path_in("run/containers/auth.json");
    where = ml__asprintf("%s, %s, credential helper docker-credential-mltest", auth, cfg);
    expect_where(NULL, "missing.example.com", where);
    free(where);
    free(auth);
    free(cfg);

    /* credsStore serves every registry without a credHelpers entry, and
     * auth.json still comes first. */
    write_file("home/.docker/config.json", "{\"credsStore\": \"mltest\", \"credHelpers\": {},"
                                           " \"auths\": {\"store.example\": {}}}");
    expect_cred(NULL, "store.example", "u:store.example", "helper-secret", false);
    expect_cred(NULL, "registry-1.docker.io", "hubuser", "hub-helper-secret", false);
    write_auths("run/containers/auth.json", "store.example", "alice:pw-auth-json", NULL);
    expect_cred(NULL, "store.example", "alice", "pw-auth-json", false);
    reset_env();
}

static double elapsed_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Whether process pid is gone (or a zombie, dead but not yet reaped by
 * its new parent), waiting up to two seconds for it. */
static bool process_gone(pid_t pid)
{
    struct timespec pause = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 100; i++) {
        char *path = ml__asprintf("/proc/%ld/stat", (long)pid), *stat = NULL;
        size_t len = 0;
        bool gone = ml__read_file(path, 4096, &stat, &len, NULL) != ML_OK || test_contains(stat, ") Z ");
        free(stat);
        free(path);
        if (gone)
            return true;
        nanosleep(&pause, NULL);
    }
    return false;
}

/* A hung helper is killed with what it started: its process group. */
static void test_hung_helper_group(void)
{
    char *pidfile = path_in("hang.pid");
    setenv("ML_TEST_PIDFILE", pidfile, 1);
    ml__cred c;
    bool found = true;
    ml_error *err = NULL;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_INT(ml__cred_helper_get("mlhang", "hang.example", 1000, &c, &found, &err), ML_EAUTH);
    CHECK(elapsed_since(&start) < 5.0);
    CHECK(test_contains(ml_error_message(err), "no answer within 1000 ms"));
    char *text = NULL;
    size_t len = 0;
    long child = 0;
    CHECK(ml__read_file(pidfile, 64, &text, &len, NULL) == ML_OK && (child = strtol(text, NULL, 10)) > 1);
    if (child > 1) {
        CHECK(process_gone((pid_t)child));
        kill((pid_t)child, SIGKILL); /* whatever the outcome, nothing stays */
    }
    unsetenv("ML_TEST_PIDFILE");
    free(text);
    ml_error_free(err);
    free(pidfile);
}

static void test_helper_bounds(void)
{
    ml__cred c;
    bool found = true;
    ml_error *err = NULL;
    struct timespec start;

    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_INT(ml__cred_helper_get("mlslow", "slow.example", 300, &c, &found, &err), ML_EAUTH);
    CHECK(elapsed_since(&start) < 5.0);
    CHECK(test_contains(ml_error_message(err), "docker-credential-mlslow: no answer within 300 ms"));
    CHECK(!found && c.secret == NULL);
    ml_error_free(err);
    err = NULL;

    CHECK_INT(ml__cred_helper_get("mlbig", "big.example", 10000, &c, &found, &err), ML_EAUTH);
    CHECK(test_contains(ml_error_message(err), "output exceeds 65536 bytes"));
    ml_error_free(err);
    err = NULL;

    /* A background process keeping the pipes open does not hold us up. */
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_INT(ml__cred_helper_get("mlgrandchild", "gc.example", 10000, &c, &found, &err), ML_OK);
    CHECK(elapsed_since(&start) < 3.0);
    CHECK(found);
    CHECK_STR(c.secret, "gc-secret");
    ml__cred_clear(&c);

    CHECK_INT(ml__cred_helper_get("", "x", 1000, &c, &found, &err), ML_EAUTH);
    CHECK(test_contains(ml_error_message(err), "invalid credential helper name"));
    ml_error_free(err);
    err = NULL;
    CHECK_INT(ml__cred_helper_get("a/b", "x", 1000, &c, &found, NULL), ML_EAUTH);

    /* With SIGCHLD ignored the child reaps itself: the answer still counts. */
    struct sigaction ign = {0}, old;
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGCHLD, &ign, &old);
    CHECK_INT(ml__cred_helper_get("mltest", "sigchld.example", 10000, &c, &found, &err), ML_OK);
    CHECK(found);
    CHECK_STR(c.username, "u:sigchld.example");
    ml__cred_clear(&c);
    CHECK_INT(ml__cred_helper_get("mlnotfound", "x.example", 10000, &c, &found, &err), ML_OK);
    CHECK(!found);
    sigaction(SIGCHLD, &old, NULL);
    ml_error_free(err);

    /* No child is left behind, reaped or not. */
    errno = 0;
    CHECK_INT(waitpid(-1, NULL, WNOHANG), -1);
    CHECK_INT(errno, ECHILD);
}

static void test_server_url(void)
{
    CHECK_STR(ml__cred_server_url("docker.io"), "https://index.docker.io/v1/");
    CHECK_STR(ml__cred_server_url("registry-1.docker.io"), "https://index.docker.io/v1/");
    CHECK_STR(ml__cred_server_url("ghcr.io"), "ghcr.io");
    CHECK_STR(ml__cred_server_url("localhost:5000"), "localhost:5000");
}

static int remove_tree(const char *path)
{
    char *cmd = ml__asprintf("rm -rf '%s'", path);
    int rc = cmd ? system(cmd) : -1;
    free(cmd);
    return rc;
}

int main(void)
{
    /* SIGPIPE keeps its default action: a write to a closed pipe would kill
     * this test. */
    signal(SIGPIPE, SIG_DFL);
    /* A FIFO or helper waited for forever fails the test, not the suite. */
    alarm(60);
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof(tmp), "%s/ml-cred-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd))) {
        perror("getcwd");
        return 1;
    }
    char *path = ml__asprintf("%s/data/auth:/usr/bin:/bin", cwd);
    setenv("PATH", path, 1);
    free(path);

    TEST_RUN(test_server_url);
    TEST_RUN(test_nothing_configured);
    TEST_RUN(test_invalid_registry);
    TEST_RUN(test_auth_json_sources_and_order);
    TEST_RUN(test_auth_json_keys);
    TEST_RUN(test_docker_config_dirs);
    TEST_RUN(test_docker_hub_aliases);
    TEST_RUN(test_identity_token);
    TEST_RUN(test_malformed_files);
    TEST_RUN(test_cred_helpers);
    TEST_RUN(test_helper_bounds);
    TEST_RUN(test_hung_helper_group);

    remove_tree(tmp);
    TEST_END();
}
