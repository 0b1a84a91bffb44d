/* Content digests (OCI image-spec descriptor.md#digests): sha256, sha512.
 * The only mbedTLS user. */
#ifndef ML_DIGEST_H
#define ML_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* "sha512:" + 128 hex + NUL */
#define ML__DIGEST_MAX 136

/* Syntax check: "sha256:" + 64 lowercase hex, or "sha512:" + 128. */
bool ml__digest_valid(const char *digest);
/* Computes "<alg>:<hex>" of data; alg is "sha256" or "sha512". */
int ml__digest_compute(const char *alg, const void *data, size_t len,
                       char out[ML__DIGEST_MAX], ml_error **err);
/* ML_OK when data hashes to `digest`; ML_EDIGEST otherwise (also for an
 * invalid or unsupported digest), with both digests in the message. */
int ml__digest_verify(const char *digest, const void *data, size_t len, ml_error **err);

/* Streaming digests, for blobs copied chunk by chunk. */
typedef struct ml__digester ml__digester;
int ml__digester_new(ml__digester **out, const char *alg, ml_error **err);
void ml__digester_update(ml__digester *d, const void *data, size_t len);
void ml__digester_final(ml__digester *d, char out[ML__DIGEST_MAX]);
void ml__digester_free(ml__digester *d);

#endif
