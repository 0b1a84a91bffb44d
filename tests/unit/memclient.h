/* Unit tests of the layers above the stores: a client whose registry is a
 * memory store, with no HTTP. */
#ifndef ML_TEST_MEMCLIENT_H
#define ML_TEST_MEMCLIENT_H

#include "memstore.h"
#include "test.h"

/* A fresh memory store *m, served as registry `reg` to a new client *c. */
static inline void test_mem_client(ml__memstore **m, ml_client **c, const char *reg)
{
    CHECK_INT(ml__memstore_new(m), ML_OK);
    CHECK_INT(ml_client_new(c, NULL, NULL), ML_OK);
    CHECK_INT(ml__memstore_mount(*m, *c, reg), ML_OK);
}

static inline void test_mem_client_free(ml__memstore *m, ml_client *c)
{
    ml_client_free(c);
    ml__memstore_free(m);
}

#endif
