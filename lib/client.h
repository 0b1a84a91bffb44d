/* The client handle: transport, per-registry state, options. */
#ifndef ML_CLIENT_H
#define ML_CLIENT_H

#include <stdarg.h>

#include "http.h"
#include "manifestlist.h"

typedef struct ml__host {
    char *name;   /* "localhost:5000" as in references */
    char *base;   /* "https://localhost:5000" once known */
} ml__host;

struct ml_client {
    ml__http *http;
    uint32_t flags;       /* ML_CLIENT_* */
    uint32_t concurrency;
    ml_log_fn log;
    void *log_payload;
    ml__host *hosts;
    size_t host_count;
    size_t host_cap;
};

void ml__client_log(const ml_client *c, int level, const char *fmt, ...) ML__PRINTF(3, 4);

#endif
