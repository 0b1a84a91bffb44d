#include <stdlib.h>
#include <unistd.h>

#include "ref.h"
#include "test.h"
#include "util.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX128 HEX64 HEX64

/* Parses `s` and checks every part; NULL tag/digest mean absent. */
static void expect_ref(const char *s, const char *registry, const char *repository,
                       const char *tag, const char *digest)
{
    ml_ref r;
    ml_error *err = NULL;
    int rc = ml__ref_parse(&r, s, &err);
    CHECK_INT(rc, ML_OK);
    if (rc != ML_OK) {
        fprintf(stderr, "  %s: %s\n", s, ml_error_message(err));
        ml_error_free(err);
        return;
    }
    CHECK_STR(r.registry, registry);
    CHECK_STR(r.repository, repository);
    CHECK_STR(r.tag, tag);
    CHECK_STR(r.digest, digest);
    ml__ref_clear(&r);
}

/* Expects ML_EREF with a message that contains `words`. */
static void expect_error(const char *s, const char *words)
{
    ml_ref r;
    ml_error *err = NULL;
    CHECK_INT(ml__ref_parse(&r, s, &err), ML_EREF);
    CHECK_INT(ml_error_code(err), ML_EREF);
    CHECK(test_contains(ml_error_message(err), words));
    if (!test_contains(ml_error_message(err), words))
        fprintf(stderr, "  %s: got \"%s\", want \"%s\"\n", s ? s : "(null)",
                ml_error_message(err), words);
    CHECK(r.registry == NULL && r.repository == NULL);
    ml_error_free(err);
}

static void test_docker_hub_defaults(void)
{
    expect_ref("alpine", "docker.io", "library/alpine", NULL, NULL);
    expect_ref("alpine:3.19", "docker.io", "library/alpine", "3.19", NULL);
    expect_ref("user/app", "docker.io", "user/app", NULL, NULL);
    expect_ref("user/app:v1", "docker.io", "user/app", "v1", NULL);
    expect_ref("docker.io/alpine", "docker.io", "library/alpine", NULL, NULL);
    expect_ref("docker.io/library/alpine:edge", "docker.io", "library/alpine", "edge", NULL);
    expect_ref("index.docker.io/alpine", "docker.io", "library/alpine", NULL, NULL);
    expect_ref("index.docker.io/user/app", "docker.io", "user/app", NULL, NULL);
    expect_ref("a/b/c/d", "docker.io", "a/b/c/d", NULL, NULL);
    /* A single "localhost" is an image name, as in docker. */
    expect_ref("localhost", "docker.io", "library/localhost", NULL, NULL);
    expect_ref("localhost:5000", "docker.io", "library/localhost", "5000", NULL);
}

static void test_registries(void)
{
    expect_ref("localhost/app", "localhost", "app", NULL, NULL);
    expect_ref("localhost:5000/app:1", "localhost:5000", "app", "1", NULL);
    expect_ref("localhost:5000/team/app", "localhost:5000", "team/app", NULL, NULL);
    expect_ref("registry.example.com/team/app:1.2", "registry.example.com", "team/app", "1.2",
               NULL);
    expect_ref("example.com:443/app", "example.com:443", "app", NULL, NULL);
    expect_ref("127.0.0.1:5000/app", "127.0.0.1:5000", "app", NULL, NULL);
    expect_ref("[::1]:5000/app:v2", "[::1]:5000", "app", "v2", NULL);
    expect_ref("[::1]/app", "[::1]", "app", NULL, NULL);
    expect_ref("[2001:db8::5]:443/x/y", "[2001:db8::5]:443", "x/y", NULL, NULL);
    /* Registry host names may have capitals; repositories may not. */
    expect_ref("Registry.Example.com/app", "Registry.Example.com", "app", NULL, NULL);
    expect_ref("my-registry:5000/a", "my-registry:5000", "a", NULL, NULL);
}

static void test_tags_and_digests(void)
{
    expect_ref("app@sha256:" HEX64, "docker.io", "library/app", NULL, "sha256:" HEX64);
    expect_ref("app:1@sha256:" HEX64, "docker.io", "library/app", "1", "sha256:" HEX64);
    expect_ref("localhost:5000/app@sha512:" HEX128, "localhost:5000", "app", NULL,
               "sha512:" HEX128);
    expect_ref("app:V1.0_rc-2", "docker.io", "library/app", "V1.0_rc-2", NULL);
    expect_ref("app:_x", "docker.io", "library/app", "_x", NULL);
}

static void test_lowercase_required(void)
{
    expect_error("Foo/bar", "repository name must be lowercase");
    expect_error("foo/Bar", "repository name must be lowercase");
    expect_error("Alpine", "repository name must be lowercase");
    expect_error("example.com/Team/app", "repository name must be lowercase");
    /* The message quotes the reference as written. */
    expect_error("Foo/bar", "invalid reference \"Foo/bar\"");
}

static void test_bad_tags(void)
{
    expect_error("app:x y", "tag \"x y\" has invalid characters");
    expect_error("app:", "tag is empty");
    expect_error("app:.x", "tag \".x\" has invalid characters");
    expect_error("app:-x", "tag \"-x\" has invalid characters");
    char tag[140];
    memset(tag, 'a', sizeof(tag));
    tag[128] = '\0';
    char *ok = ml__asprintf("app:%s", tag);
    expect_ref(ok, "docker.io", "library/app", tag, NULL);
    tag[128] = 'a';
    tag[129] = '\0';
    char *bad = ml__asprintf("app:%s", tag);
    expect_error(bad, "tag is longer than 128 characters");
    free(ok);
    free(bad);
}

static void test_bad_digests(void)
{
    expect_error("app@md5:d41d8cd98f00b204e9800998ecf8427e",
                 "unsupported digest algorithm \"md5\"");
    expect_error("app@sha384:" HEX64, "unsupported digest algorithm");
    expect_error("app@sha256:abc", "must have 64 lowercase hex digits");
    expect_error("app@sha256:" HEX64 "0", "must have 64 lowercase hex digits");
    expect_error("app@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                 "lowercase hex");
    expect_error("app@sha512:" HEX64, "must have 128 lowercase hex digits");
    expect_error("app@sha256", "digest \"sha256\" is not algorithm:hex");
    expect_error("app@", "digest \"\"");
    expect_error("app@sha256:" HEX64 "@sha256:" HEX64, "digest");
}

static void test_bad_names(void)
{
    expect_error("", "reference is empty");
    expect_error(NULL, "reference is empty");
    expect_error(":tag", "repository name is empty");
    expect_error("@sha256:" HEX64, "repository name is empty");
    expect_error("a//b", "empty path component");
    expect_error("a/", "empty path component");
    expect_error("example.com/", "empty path component");
    expect_error("a..b", "invalid characters");
    expect_error("a___b", "invalid characters");
    expect_error("a-", "invalid characters");
    expect_error("_a", "invalid characters");
    expect_error("a b", "invalid characters");
    expect_error("exa_mple.com/app", "registry \"exa_mple.com\" is not a valid host[:port]");
    expect_error("example.com:port/app", "registry \"example.com:port\"");
    expect_error("-example.com/app", "registry");
    expect_error("[fe80::1%eth0]/app", "registry");
    expect_error("[]/app", "invalid characters"); /* no dot or colon: a Hub path */
    expect_error(HEX64, "image ID");
    /* Separators that are allowed. */
    expect_ref("a__b/c-d/e--f/g.h/i_j", "docker.io", "a__b/c-d/e--f/g.h/i_j", NULL, NULL);
}

static void test_length_limits(void)
{
    /* registry "example.com" (11) + "/" + path = 255 exactly. */
    char path[300];
    memset(path, 'a', sizeof(path));
    path[243] = '\0';
    char *ok = ml__asprintf("example.com/%s", path);
    expect_ref(ok, "example.com", path, NULL, NULL);
    path[243] = 'a';
    path[244] = '\0';
    char *bad = ml__asprintf("example.com/%s", path);
    expect_error(bad, "repository name is longer than 255 characters");
    /* docker.io/library/ counts too. */
    path[238] = '\0';
    char *hub = ml__asprintf("%s", path);
    expect_error(hub, "longer than 255");
    free(ok);
    free(bad);
    free(hub);

    char *huge = malloc(5000);
    memset(huge, 'a', 4999);
    huge[4999] = '\0';
    ml_ref r;
    ml_error *err = NULL;
    CHECK_INT(ml__ref_parse(&r, huge, &err), ML_EREF);
    CHECK(test_contains(ml_error_message(err), "longer than 4096"));
    CHECK(test_contains(ml_error_message(err), "...\""));
    CHECK(strlen(ml_error_message(err)) < 200); /* the input is cut in the message */
    ml_error_free(err);
    free(huge);
}

static void test_format_and_names(void)
{
    ml_ref r;
    CHECK_INT(ml__ref_parse(&r, "alpine", NULL), ML_OK);
    char *s = ml__ref_format(&r);
    CHECK_STR(s, "docker.io/library/alpine");
    free(s);
    s = ml__ref_repo_name(&r);
    CHECK_STR(s, "docker.io/library/alpine");
    free(s);
    CHECK_STR(ml__ref_api_host(&r), "registry-1.docker.io");
    ml__ref_clear(&r);
    CHECK(r.registry == NULL);

    CHECK_INT(ml__ref_parse(&r, "localhost:5000/app:1@sha256:" HEX64, NULL), ML_OK);
    s = ml__ref_format(&r);
    CHECK_STR(s, "localhost:5000/app:1@sha256:" HEX64);
    free(s);
    s = ml__ref_repo_name(&r);
    CHECK_STR(s, "localhost:5000/app");
    free(s);
    CHECK_STR(ml__ref_api_host(&r), "localhost:5000");

    ml_ref copy;
    CHECK_INT(ml__ref_copy(&copy, &r), ML_OK);
    CHECK(copy.registry != r.registry);
    CHECK_STR(copy.tag, "1");
    CHECK_STR(copy.digest, "sha256:" HEX64);
    CHECK(ml__ref_same_repo(&copy, &r));
    ml__ref_clear(&copy);

    ml_ref other;
    CHECK_INT(ml__ref_parse(&other, "localhost:5000/app:2", NULL), ML_OK);
    CHECK(ml__ref_same_repo(&r, &other));
    ml__ref_clear(&other);
    CHECK_INT(ml__ref_parse(&other, "localhost:5001/app", NULL), ML_OK);
    CHECK(!ml__ref_same_repo(&r, &other));
    ml__ref_clear(&other);
    ml__ref_clear(&r);
    ml__ref_clear(NULL);
}

static bool loopback(const char *s)
{
    ml_ref r;
    if (ml__ref_parse(&r, s, NULL) != ML_OK)
        return false;
    bool yes = ml__ref_is_loopback(&r);
    ml__ref_clear(&r);
    return yes;
}

static void test_layouts(void)
{
    ml_ref r;
    ml_error *err = NULL;
    CHECK_INT(ml__ref_parse(&r, "oci:/tmp/My Layout:v1.0", NULL), ML_OK);
    CHECK(r.layout);
    CHECK(r.registry == NULL);
    CHECK_STR(r.repository, "/tmp/My Layout");
    CHECK_STR(r.tag, "v1.0");
    char *s = ml__ref_format(&r);
    CHECK_STR(s, "oci:/tmp/My Layout:v1.0");
    free(s);
    s = ml__ref_repo_name(&r);
    CHECK_STR(s, "oci:/tmp/My Layout");
    free(s);

    ml_ref d;
    CHECK_INT(ml__ref_parse(&d, "oci:rel/dir@sha256:" HEX64, NULL), ML_OK);
    CHECK(d.layout);
    CHECK_STR(d.repository, "rel/dir");
    CHECK(d.tag == NULL);
    CHECK_STR(d.digest, "sha256:" HEX64);
    ml_ref copy;
    CHECK_INT(ml__ref_copy(&copy, &d), ML_OK);
    CHECK(copy.layout);
    /* Same directory, same store; a registry repository of that name is not. */
    CHECK(ml__ref_same_repo(&copy, &d));
    /* Another spelling of one existing directory is the same repository. */
    ml_ref here, there;
    CHECK_INT(ml__ref_parse(&here, "oci:unit", NULL), ML_OK);
    char *cwd = getcwd(NULL, 0), *abs = ml__asprintf("oci:%s/unit:v1", cwd ? cwd : ".");
    CHECK_INT(ml__ref_parse(&there, abs, NULL), ML_OK);
    CHECK(ml__ref_same_repo(&here, &there));
    ml__ref_clear(&here);
    ml__ref_clear(&there);
    free(abs);
    free(cwd);
    ml_ref reg;
    CHECK_INT(ml__ref_parse(&reg, "rel/dir", NULL), ML_OK);
    CHECK(!ml__ref_same_repo(&reg, &d));
    CHECK(!ml__ref_is_loopback(&d));
    ml__ref_clear(&reg);
    ml__ref_clear(&copy);
    ml__ref_clear(&d);
    ml__ref_clear(&r);

    CHECK_INT(ml__ref_parse(&r, "oci:dir", NULL), ML_OK);
    CHECK(r.tag == NULL && r.digest == NULL);
    ml__ref_clear(&r);

    /* A registry host named "oci" with a port stays a registry. */
    CHECK_INT(ml__ref_parse(&r, "oci:5000/app:1", NULL), ML_OK);
    CHECK(!r.layout);
    CHECK_STR(r.registry, "oci:5000");
    CHECK_STR(r.repository, "app");
    ml__ref_clear(&r);

    /* ...and a layout at such a path is written so that it reads back as one. */
    CHECK_INT(ml__ref_parse(&r, "oci:./5000/app:v1", NULL), ML_OK);
    CHECK(r.layout);
    CHECK_STR(r.repository, "5000/app");
    char *s5000 = ml__ref_format(&r);
    CHECK_STR(s5000, "oci:./5000/app:v1");
    ml__ref_clear(&r);
    CHECK_INT(ml__ref_parse(&r, s5000, NULL), ML_OK);
    CHECK(r.layout);
    ml__ref_clear(&r);
    free(s5000);

    /* One directory, one spelling. */
    static const char *const same[][2] = {
        {"oci:./out/", "out"}, {"oci:out//x/.", "out/x"}, {"oci:/a//b/./c/", "/a/b/c"},
        {"oci:/", "/"}, {"oci:./", "."}, {"oci:../up", "../up"},
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        CHECK_INT(ml__ref_parse(&r, same[i][0], NULL), ML_OK);
        CHECK_STR(r.repository, same[i][1]);
        ml__ref_clear(&r);
    }

    CHECK_INT(ml__ref_parse(&r, "oci::v1", &err), ML_EREF);
    CHECK(test_contains(ml_error_message(err), "layout path is empty"));
    CHECK_INT(ml__ref_parse(&r, "oci:dir:bad tag", &err), ML_EREF);
    CHECK(test_contains(ml_error_message(err), "bad tag"));
    CHECK_INT(ml__ref_parse(&r, "oci:dir@sha256:abc", &err), ML_EREF);
    CHECK(test_contains(ml_error_message(err), "64 lowercase hex"));
    ml_error_free(err);
    err = NULL;
    CHECK_INT(ml__ref_parse(&r, "oci:dir:@sha256:" HEX64, NULL), ML_OK);
    CHECK_STR(r.repository, "dir");
    CHECK(r.tag == NULL);
    CHECK_STR(r.digest, "sha256:" HEX64);
    ml__ref_clear(&r);
    CHECK_INT(ml__ref_parse(&r, "oci:dir:v2@sha256:" HEX64, NULL), ML_OK);
    CHECK_STR(r.repository, "dir");
    CHECK_STR(r.tag, "v2");
    CHECK_STR(r.digest, "sha256:" HEX64);
    ml__ref_clear(&r);
    CHECK_INT(ml__ref_parse(&r, "oci:dir:", &err), ML_EREF);
    CHECK(test_contains(ml_error_message(err), "tag is empty"));
    ml_error_free(err);
    err = NULL;
}

static void test_loopback(void)
{
    CHECK(loopback("localhost/app"));
    CHECK(loopback("localhost:5000/app"));
    CHECK(loopback("127.0.0.1/app"));
    CHECK(loopback("127.0.0.1:5000/app"));
    CHECK(loopback("127.10.20.30:80/app"));
    CHECK(loopback("[::1]/app"));
    CHECK(loopback("[::1]:5000/app"));
    CHECK(!loopback("alpine"));
    CHECK(!loopback("example.com/app"));
    CHECK(!loopback("localhost.example.com/app"));
    CHECK(!loopback("127.0.0.1.example.com/app"));
    CHECK(!loopback("128.0.0.1/app"));
    CHECK(!loopback("127.0.0/app.x"));
    CHECK(!loopback("[::2]:5000/app"));
    CHECK(!loopback("[::10]/app"));
}

static void test_tag_valid(void)
{
    CHECK(ml__tag_valid("latest"));
    CHECK(ml__tag_valid("1.2.3-rc_1"));
    CHECK(ml__tag_valid("_"));
    CHECK(!ml__tag_valid(""));
    CHECK(!ml__tag_valid(NULL));
    CHECK(!ml__tag_valid(".x"));
    CHECK(!ml__tag_valid("-x"));
    CHECK(!ml__tag_valid("a:b"));
    CHECK(!ml__tag_valid("a/b"));
    CHECK(!ml__tag_valid("x y"));
}

static void test_public_normalize(void)
{
    char *out = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml_ref_normalize("alpine", &out, &err), ML_OK);
    CHECK_STR(out, "docker.io/library/alpine");
    ml_free(out);
    CHECK_INT(ml_ref_normalize("index.docker.io/team/app:1@sha256:" HEX64, &out, &err), ML_OK);
    CHECK_STR(out, "docker.io/team/app:1@sha256:" HEX64);
    ml_free(out);
    CHECK_INT(ml_ref_normalize("[::1]:5000/app", &out, &err), ML_OK);
    CHECK_STR(out, "[::1]:5000/app");
    ml_free(out);
    out = (char *)"untouched";
    CHECK_INT(ml_ref_normalize("Foo/bar", &out, &err), ML_EREF);
    CHECK(out == NULL);
    CHECK_STR(ml_error_message(err),
              "invalid reference \"Foo/bar\": repository name must be lowercase");
    ml_error_free(err);
    err = NULL;
    CHECK_INT(ml_ref_normalize("alpine", NULL, &err), ML_EINVAL);
    ml_error_free(err);
    CHECK_INT(ml_ref_normalize(NULL, &out, NULL), ML_EREF);
}

int main(void)
{
    TEST_RUN(test_docker_hub_defaults);
    TEST_RUN(test_registries);
    TEST_RUN(test_tags_and_digests);
    TEST_RUN(test_lowercase_required);
    TEST_RUN(test_bad_tags);
    TEST_RUN(test_bad_digests);
    TEST_RUN(test_bad_names);
    TEST_RUN(test_length_limits);
    TEST_RUN(test_format_and_names);
    TEST_RUN(test_layouts);
    TEST_RUN(test_loopback);
    TEST_RUN(test_tag_valid);
    TEST_RUN(test_public_normalize);
    TEST_END();
}
