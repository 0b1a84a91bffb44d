/* What every fuzz target shares: libFuzzer's entry point, and require(),
 * whose abort() marks a bug for the fuzzer (the library never aborts). */
#ifndef ML_FUZZ_H
#define ML_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void require(int ok)
{
    if (!ok)
        abort();
}

#endif
