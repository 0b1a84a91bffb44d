/* The public header alone, compiled as strict C11 and as C++. */
#include "manifestlist.h"

int main(void)
{
    ml_client_options co = ML_CLIENT_OPTIONS_INIT;
    ml_push_options po = ML_PUSH_OPTIONS_INIT;
    ml_spec_options so = ML_SPEC_OPTIONS_INIT;
    return co.version == ML_CLIENT_OPTIONS_VERSION && po.version == ML_PUSH_OPTIONS_VERSION &&
                   so.version == ML_SPEC_OPTIONS_VERSION
               ? 0
               : 1;
}
