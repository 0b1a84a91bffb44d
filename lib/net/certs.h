/* A registry's own TLS material in containers-certs.d(5) directories, as
 * docker's /etc/docker/certs.d: HOST:PORT/ holds CAs (*.crt) and client
 * certificates (*.cert with the *.key of the same name). */
#ifndef ML_CERTS_H
#define ML_CERTS_H

#include <stddef.h>

#include "error.h"
#include "http.h"

/* Files larger than this are refused (a certificate is a few KiB). */
#define ML__CERTS_FILE_MAX (1024 * 1024)

/* Reads the directory of registry `host` ("127.0.0.1:5000"): the first
 * DIR/HOST that exists, DIR taken in order from the colon-separated `dirs`
 * (NULL: ML_CERTS_DIRS_SYSTEM); only that one is used (as containers/image
 * does). Into *out go every *.crt concatenated and the first *.cert (by
 * name) with its key; free it with ml__http_tls_clear. None: ML_OK with
 * *out empty. A *.cert without its *.key, or a *.key without its *.cert,
 * is ML_EINVAL naming it; unreadable files ML_EIO. */
int ml__certs_read(const char *dirs, const char *host, ml__http_tls *out, ml_error **err);

#endif
