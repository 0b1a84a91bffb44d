/* Digest tests. Expected values are the published FIPS 180-2 / NIST CSRC
 * example vectors for SHA-256 and SHA-512, not outputs of this code. */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "test.h"

#define SHA256_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA256_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_TWO_BLOCK "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define SHA256_MILLION_A "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
#define SHA512_ABC                                                                   \
    "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"        \
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define SHA512_EMPTY                                                                 \
    "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"        \
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define SHA512_MILLION_A                                                             \
    "sha512:e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"        \
    "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"

static void test_valid(void)
{
    CHECK(ml__digest_valid(SHA256_ABC));
    CHECK(ml__digest_valid(SHA512_ABC));
    CHECK(!ml__digest_valid(NULL));
    CHECK(!ml__digest_valid(""));
    CHECK(!ml__digest_valid("sha256:"));
    CHECK(!ml__digest_valid("sha256:xyz"));
    /* upper-case hex is not canonical (OCI descriptor.md) */
    CHECK(!ml__digest_valid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    /* one hex digit short and one too many */
    CHECK(!ml__digest_valid("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"));
    CHECK(!ml__digest_valid(SHA256_ABC "0"));
    /* a sha256 length under the sha512 name and the reverse */
    CHECK(!ml__digest_valid("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(!ml__digest_valid("sha256:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"));
    CHECK(!ml__digest_valid("blake3:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(!ml__digest_valid("SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(!ml__digest_valid(" sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(!ml__digest_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

static void test_compute(void)
{
    char out[ML__DIGEST_MAX];
    ml_error *err = NULL;
    CHECK_INT(ml__digest_compute("sha256", "abc", 3, out, &err), ML_OK);
    CHECK_STR(out, SHA256_ABC);
    CHECK_INT(ml__digest_compute("sha256", NULL, 0, out, &err), ML_OK);
    CHECK_STR(out, SHA256_EMPTY);
    CHECK_INT(ml__digest_compute("sha256", "", 0, out, &err), ML_OK);
    CHECK_STR(out, SHA256_EMPTY);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK_INT(ml__digest_compute("sha256", two, strlen(two), out, &err), ML_OK);
    CHECK_STR(out, SHA256_TWO_BLOCK);
    CHECK_INT(ml__digest_compute("sha512", "abc", 3, out, &err), ML_OK);
    CHECK_STR(out, SHA512_ABC);
    CHECK_INT(strlen(out), 7 + 128);
    CHECK_INT(ml__digest_compute("sha512", "", 0, out, &err), ML_OK);
    CHECK_STR(out, SHA512_EMPTY);
    CHECK(err == NULL);

    CHECK_INT(ml__digest_compute("md5", "abc", 3, out, &err), ML_EDIGEST);
    CHECK(test_contains(ml_error_message(err), "unsupported digest algorithm"));
    CHECK(test_contains(ml_error_message(err), "md5"));
    CHECK_INT(ml__digest_compute("sha256:", "abc", 3, out, &err), ML_EDIGEST);
    CHECK_INT(ml__digest_compute(NULL, "abc", 3, out, &err), ML_EINVAL);
    CHECK_INT(ml__digest_compute("sha256", NULL, 3, out, &err), ML_EINVAL);
    /* no error object wanted */
    CHECK_INT(ml__digest_compute("md5", "abc", 3, out, NULL), ML_EDIGEST);
    ml_error_free(err);
}

static void test_verify(void)
{
    ml_error *err = NULL;
    CHECK_INT(ml__digest_verify(SHA256_ABC, "abc", 3, &err), ML_OK);
    CHECK_INT(ml__digest_verify(SHA512_ABC, "abc", 3, &err), ML_OK);
    CHECK_INT(ml__digest_verify(SHA256_EMPTY, NULL, 0, &err), ML_OK);
    CHECK(err == NULL);

    CHECK_INT(ml__digest_verify(SHA256_ABC, "abd", 3, &err), ML_EDIGEST);
    CHECK(test_contains(ml_error_message(err), "mismatch"));
    CHECK(test_contains(ml_error_message(err), "expected " SHA256_ABC));
    /* the actual digest of "abd" is named too */
    CHECK(test_contains(ml_error_message(err), "got sha256:"));
    CHECK(test_contains(ml_error_message(err), "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9"));
    CHECK_INT(ml_error_code(err), ML_EDIGEST);

    CHECK_INT(ml__digest_verify(SHA512_EMPTY, "abc", 3, &err), ML_EDIGEST);
    CHECK(test_contains(ml_error_message(err), "got " SHA512_ABC));

    CHECK_INT(ml__digest_verify("sha256:xyz", "abc", 3, &err), ML_EDIGEST);
    CHECK(test_contains(ml_error_message(err), "invalid digest \"sha256:xyz\""));
    CHECK_INT(ml__digest_verify("blake3:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                                "abc", 3, &err), ML_EDIGEST);
    CHECK(test_contains(ml_error_message(err), "unsupported digest algorithm"));
    CHECK_INT(ml__digest_verify("", "abc", 3, &err), ML_EDIGEST);
    CHECK(test_contains(ml_error_message(err), "invalid digest"));
    CHECK_INT(ml__digest_verify(NULL, "abc", 3, &err), ML_EDIGEST);
    CHECK_INT(ml__digest_verify(SHA256_ABC, "abd", 3, NULL), ML_EDIGEST);
    ml_error_free(err);
}

/* One million 'a' fed in uneven chunks crosses every block boundary case. */
static void stream_million_a(const char *alg, const char *expected)
{
    static char chunk[7919];
    memset(chunk, 'a', sizeof(chunk));
    ml__digester *d = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml__digester_new(&d, alg, &err), ML_OK);
    CHECK(d != NULL);
    if (!d)
        return;
    size_t left = 1000000, step = 1;
    while (left) {
        size_t n = step < left ? step : left;
        ml__digester_update(d, chunk, n);
        left -= n;
        step = step * 3 % sizeof(chunk) + 1;
    }
    ml__digester_update(d, NULL, 0);
    char out[ML__DIGEST_MAX];
    ml__digester_final(d, out);
    CHECK_STR(out, expected);
    ml__digester_free(d);
}

static void test_streaming(void)
{
    stream_million_a("sha256", SHA256_MILLION_A);
    stream_million_a("sha512", SHA512_MILLION_A);

    ml__digester *d = NULL;
    ml_error *err = NULL;
    char out[ML__DIGEST_MAX];
    CHECK_INT(ml__digester_new(&d, "sha256", &err), ML_OK);
    ml__digester_update(d, "a", 1);
    ml__digester_update(d, "bc", 2);
    ml__digester_final(d, out);
    CHECK_STR(out, SHA256_ABC);
    ml__digester_free(d);

    /* nothing fed at all */
    CHECK_INT(ml__digester_new(&d, "sha512", &err), ML_OK);
    ml__digester_final(d, out);
    CHECK_STR(out, SHA512_EMPTY);
    ml__digester_free(d);

    d = (ml__digester *)&err; /* must be overwritten with NULL on failure */
    CHECK_INT(ml__digester_new(&d, "sha1", &err), ML_EDIGEST);
    CHECK(d == NULL);
    CHECK(test_contains(ml_error_message(err), "sha1"));
    ml__digester_free(NULL);
    ml_error_free(err);
}

int main(void)
{
    TEST_RUN(test_valid);
    TEST_RUN(test_compute);
    TEST_RUN(test_verify);
    TEST_RUN(test_streaming);
    TEST_END();
}
