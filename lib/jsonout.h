/* Writing JSON values of the model (platforms, annotations, string lists)
 * into a buffer, for the JSON views that are not manifests (spec plans,
 * inspect, results). Manifests themselves go through manifest.c. */
#ifndef ML_JSONOUT_H
#define ML_JSONOUT_H

#include "manifest.h"
#include "util.h"

/* ["a","b"] */
void ml__json_strings(ml__buf *b, const ml__strvec *v);
/* {"k":"v",...} */
void ml__json_annotations(ml__buf *b, const ml__annotations *a);
/* {"architecture","os","variant","os.version","os.features","features"}, absent fields left out */
void ml__json_platform(ml__buf *b, const ml_platform *p);

#endif
