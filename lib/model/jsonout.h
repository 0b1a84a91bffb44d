/* Writing JSON values of the model (platforms, annotations) with the JSON
 * writer, for the JSON views that are not manifests (spec plans, inspect,
 * results, cache entries). Manifests themselves go through manifest.c. */
#ifndef ML_JSONOUT_H
#define ML_JSONOUT_H

#include "json.h"
#include "manifest.h"

/* {"k":"v",...} */
void ml__jw_annotations(ml__json_writer *w, const char *key, const ml__annotations *a);
/* {"architecture","os","variant","os.version","os.features","features"}, absent fields left out */
void ml__jw_platform(ml__json_writer *w, const char *key, const ml_platform *p);

#endif
