#include <pthread.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "error.h"
#include "init.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_status = ML_OK;

static void init_once(void)
{
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
        init_status = ML_ENOMEM;
}

int ml__init(void)
{
    pthread_once(&once, init_once);
    return init_status;
}

int ml_global_init(void) { return ml__init(); }

/* libcurl's cleanup is not safe while other users run; a process that calls
 * this promises to be done with the library. */
void ml_global_cleanup(void) { curl_global_cleanup(); }

const char *ml_version(void) { return ML_VERSION_STRING; }

void ml_free(void *ptr) { free(ptr); }

const char *ml_strerror(int code)
{
    switch (code) {
    case ML_OK: return "success";
    case ML_ENOMEM: return "out of memory";
    case ML_EINVAL: return "invalid argument";
    case ML_ESPEC: return "invalid spec";
    case ML_EREF: return "invalid image reference";
    case ML_EPLATFORM: return "invalid platform";
    case ML_EMANIFEST: return "invalid or unsupported manifest";
    case ML_EDIGEST: return "digest mismatch or invalid digest";
    case ML_EHTTP: return "registry error";
    case ML_ENET: return "network error";
    case ML_EAUTH: return "authentication failed";
    case ML_ENOTFOUND: return "not found";
    case ML_EEXISTS: return "target exists";
    case ML_ENOTLIST: return "not a manifest list or index";
    case ML_ECONFLICT: return "changed concurrently";
    case ML_EUNSUPPORTED: return "not supported by the registry";
    case ML_ETOOBIG: return "response too large";
    case ML_EIO: return "file error";
    case ML_ETYPE: return "list type cannot hold this";
    case ML_EDUPLICATE: return "duplicate platform";
    default: return "unknown error";
    }
}
