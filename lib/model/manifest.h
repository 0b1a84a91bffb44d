/* Manifest JSON model: Docker schema2 manifest and manifest list, OCI image
 * manifest and index, image config. JSON itself is read and written by
 * json.c. */
#ifndef ML_MANIFEST_H
#define ML_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "platform.h"

#define ML__MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ML__MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define ML__MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define ML__MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define ML__MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define ML__MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"

/* Manifests over 4 MiB are refused (distribution's own limit). */
#define ML__MANIFEST_MAX (4u * 1024 * 1024)
/* Image configs are read only for their platform fields. */
#define ML__CONFIG_MAX (8u * 1024 * 1024)

typedef enum ml__kind {
    ML__KIND_UNKNOWN = 0,
    ML__KIND_DOCKER_MANIFEST,
    ML__KIND_DOCKER_LIST,
    ML__KIND_OCI_MANIFEST,
    ML__KIND_OCI_INDEX,
} ml__kind;

/* Key/value pairs kept sorted by key, so emission is deterministic. */
typedef struct ml__annotations {
    char **keys;
    char **values;
    size_t count;
} ml__annotations;

int ml__annotations_set(ml__annotations *a, const char *key, const char *value);
const char *ml__annotations_get(const ml__annotations *a, const char *key);
int ml__annotations_copy(ml__annotations *dst, const ml__annotations *src);
void ml__annotations_free(ml__annotations *a);
/* Makes *a an empty set with room for n pairs, to be filled in key order
 * (keys, values, count) by a reader that sorted them already. */
int ml__annotations_alloc(ml__annotations *a, size_t n);

/* The `extra` members below hold what other tools wrote into an object
 * beyond the model's keys (the OCI 1.1 descriptor "data", extension keys
 * such as "io.example.x"): key -> the value as compact JSON text, numbers
 * as written. Kept so that rewriting a document keeps them. */

typedef struct ml__descriptor {
    char *media_type;
    char *digest;
    int64_t size;
    bool has_platform;
    ml_platform platform;
    ml__annotations annotations;
    char *artifact_type; /* NULL when absent */
    ml__strvec urls;
    ml__annotations extra;          /* other members of the descriptor */
    ml__annotations platform_extra; /* other members of its platform */
} ml__descriptor;

void ml__descriptor_clear(ml__descriptor *d);
/* A buildx attestation entry (annotation vnd.docker.reference.type =
 * attestation-manifest); its vnd.docker.reference.digest names its image. */
bool ml__descriptor_is_attestation(const ml__descriptor *d);
#define ML__ATTESTATION_REF_KEY "vnd.docker.reference.digest"
int ml__descriptor_copy(ml__descriptor *dst, const ml__descriptor *src);

typedef struct ml__manifest {
    ml__kind kind;
    char *media_type;           /* as in the JSON, or from Content-Type */
    ml__descriptor config;      /* image manifests */
    ml__descriptor *layers;     /* image manifests */
    size_t layer_count;
    ml__descriptor *manifests;  /* lists and indexes */
    size_t manifest_count;
    bool has_subject;
    ml__descriptor subject;
    char *artifact_type;
    ml__annotations annotations;
    ml__annotations extra;      /* other top-level members */
} ml__manifest;

/* Appends *d to the manifests of a list or index, taking it: *d is
 * zeroed. On ML_ENOMEM *d stays the caller's. */
int ml__manifest_append(ml__manifest *m, ml__descriptor *d);

/* An RFC 6838 media type, "type/subtype" of restricted names: no
 * parameters, spaces or control characters (what may go into a header). */
bool ml__media_type_valid(const char *media_type);
/* Kind of a media type: a known type matches exactly (no parameters, same
 * case); anything else, NULL included, is ML__KIND_UNKNOWN. */
ml__kind ml__kind_of(const char *media_type);
bool ml__kind_is_list(ml__kind kind);

/* Parses manifest JSON. `content_type` (a header value, parameters allowed;
 * may be NULL) gives the kind when the JSON has no mediaType; a mismatch
 * between both is ML_EMANIFEST. Validates schemaVersion 2, media types
 * (ml__media_type_valid; the document's must be a known one), descriptor
 * digests and sizes, "data" a string. Members the model does not represent
 * go to the `extra` sets; a key twice is ML_EMANIFEST. Over
 * ML__MANIFEST_MAX is ML_ETOOBIG. Nesting deeper than 64 is refused. */
int ml__manifest_parse(ml__manifest *out, const char *json, size_t len,
                       const char *content_type, ml_error **err);
void ml__manifest_clear(ml__manifest *m);

/* Deterministic compact JSON. Lists and indexes: schemaVersion, mediaType,
 * artifactType, manifests (mediaType, artifactType, digest, size, urls,
 * platform {architecture, os, os.version, os.features, variant, features},
 * annotations), subject, annotations. Image manifests: schemaVersion,
 * mediaType, artifactType, config, layers, subject, annotations. Each
 * object ends with its `extra` members, sorted by key, values as kept.
 * Empty optional fields are left out. Same model, same bytes; a parsed
 * document comes back with the same keys and values, but for the empty
 * optional ones the parse reads as absent ("variant": "", "urls": [], ...).
 * ML_EINVAL for an `extra` key the object already has or a value that is
 * not JSON. */
int ml__manifest_emit(const ml__manifest *m, char **out, size_t *len, ml_error **err);

/* Reads os, architecture, variant, os.version, os.features from an image
 * config blob. ML_EMANIFEST when os or architecture is missing. */
int ml__config_platform(const char *json, size_t len, ml_platform *out, ml_error **err);

#endif
