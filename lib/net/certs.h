/* A registry's own TLS material in containers-certs.d(5) directories, as
 * docker's /etc/docker/certs.d: HOST:PORT/ holds CAs (*.crt) and client
 * certificates (*.cert with the *.key of the same name). */
#ifndef ML_CERTS_H
#define ML_CERTS_H

#include <stddef.h>

#include "error.h"
#include "manifestlist.h"

/* Files larger than this are refused (a certificate is a few KiB). */
#define ML__CERTS_FILE_MAX (1024 * 1024)

typedef struct ml__certs {
    char *ca_pem; /* every *.crt, concatenated; NULL: none */
    size_t ca_len;
    char *cert;   /* the first *.cert (by name) and its key, or NULL */
    char *key;
} ml__certs;

/* Reads the directory of registry `host` ("127.0.0.1:5000"): the first
 * DIR/HOST that exists for each DIR of the colon-separated `dirs` (NULL:
 * ML_CERTS_DIRS_SYSTEM); only that one is used (as containers/image
 * does). None: ML_OK with *out empty. A *.cert without
 * its *.key, or a *.key without its *.cert, is ML_EINVAL naming it;
 * unreadable files ML_EIO. */
int ml__certs_read(const char *dirs, const char *host, ml__certs *out, ml_error **err);
void ml__certs_clear(ml__certs *c);

#endif
