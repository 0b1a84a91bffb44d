/* A list being built: resolved entries, the assembled JSON, and what the
 * push needs to know about each child. */
#ifndef ML_LIST_H
#define ML_LIST_H

#include "digest.h"
#include "manifest.h"
#include "ref.h"
#include "spec.h"
#include "store.h"

typedef enum ml__entry_state {
    ML__ENTRY_HEAD,   /* platform known: a HEAD tells digest, size, type */
    ML__ENTRY_GET,    /* manifest body needed (platform from config, or a list) */
    ML__ENTRY_CONFIG, /* waiting for its config blob */
    ML__ENTRY_DONE,
    ML__ENTRY_DROPPED, /* missing and ignored, or replaced by its list's entries */
} ml__entry_state;

typedef struct ml__entry {
    ml__entry_state state;
    ml_ref source;          /* repository holding the child; reference = tag or digest */
    char *image;            /* as the user wrote it, for messages */
    char *config_digest;    /* while waiting for the config */
    bool platform_wanted;   /* the spec gave a platform (filter for lists) */
    bool attestation;       /* buildx attestation manifest */
    size_t order;           /* spec position, for a stable order after flattening */
    bool upsert;            /* an edit's addition: replaces entries of its platform */
    bool check_config;      /* the spec's platform is checked against the config and completed from it */
    int line, column;       /* the spec entry's position, for messages (0: none) */
    ml__descriptor desc;    /* mediaType, digest, size, platform, annotations */
} ml__entry;

struct ml_list {
    ml_ref target;          /* registry/repository:tag */
    ml__strvec tags;        /* every tag to push, the target's first */
    ml__entry *entries;
    size_t count;
    size_t cap;
    ml__manifest model;
    char *json;
    size_t len;
    char digest[ML__DIGEST_MAX];
    ml__strvec warnings;
    uint32_t flags;         /* ML_PUSH_* used to build */
    uint32_t spec_flags;    /* ML_SPEC_* */
    char *name;             /* the target as the user wrote it, for messages */
    char *spec_name;        /* the spec file, for messages naming an entry's line */
    ml__annotations index_annotations;
    char *artifact_type;    /* index artifactType, or NULL */
    bool has_subject;
    ml_ref subject;         /* image the index refers to (OCI 1.1 subject) */
    bool prefer_oci;        /* an edited OCI index stays one */
    bool has_base;          /* edits: the digest the edit was made on */
    char *base;             /* NULL: the tag did not exist */
};

/* Building blocks shared by spec builds and edits (list.c). */
ml_list *ml__list_new(uint32_t push_flags, uint32_t spec_flags);
int ml__list_set_target(ml_list *l, const ml_ref *target, const ml__strvec *extra_tags, const char *name);
/* An entry whose descriptor is already known (kept from an existing list). */
int ml__list_add_known(ml_list *l, const ml_ref *repo, const ml__descriptor *d, size_t order);
/* An entry to resolve, as a spec names it. */
int ml__list_add_source(ml_list *l, const ml__spec_entry *se, size_t order, bool upsert);
/* The caller's push options over the defaults (ml__options_read). */
int ml__push_options_read(const ml_push_options *opts, ml_push_options *o, ml_error **err);
/* Resolves, orders, checks and assembles the list. */
int ml__list_finish(ml_list *l, ml_client *c, const ml_push_options *o, ml_error **err);
/* One "KEY=VALUE" annotation argument into a (ML_EINVAL when malformed). */
int ml__annotation_arg_add(ml__annotations *a, const char *kv, ml_error **err);
/* ml_list_push with options already read (o), for a list built with them. */
int ml__list_push(ml_list *l, ml_client *c, const ml_push_options *o, ml_result **out, ml_error **err);
/* ---- listconfig.c: platforms from image configs ---- */
/* The platform `config` (taken) read from e's image config: e's platform
 * when the spec gave none; else the spec's, checked against it
 * (ML_EPLATFORM naming both and the spec line when they disagree) and
 * completed with the variant, os.version and os.features it left out. */
int ml__entry_config_platform(ml_list *l, ml__entry *e, ml_platform *config, ml_error **err);
/* e's config states no platform (an artifact's): the spec's stands, with
 * a warning. */
int ml__entry_config_without_platform(ml_list *l, ml__entry *e, const char *config_digest, ml_error **err);
/* Entries whose manifest digest is known and whose platform a cache
 * (ml__cache_get_manifest_platform) holds need no manifest or config. */
int ml__list_platforms_from_cache(ml_list *l, const char *cache_dir, ml_error **err);
/* Adds warnings not there yet to a result (push.c). */
int ml__result_add_warnings(ml_result *r, const ml__strvec *warnings);

/* A store batch over items (ml__store_head_manifests, ...). */
typedef int (*ml__batch_fn)(ml_client *c, ml__item *items, size_t n);
/* Runs `batch` over items, through the client's memo when it has one
 * (ML_CLIENT_RESOLVE_ONCE, once.c): a reference that another list of the
 * run resolved, or is resolving, is not asked for again. `op` names the
 * kind of answer ("HEAD", "GET"). ML_OK or ML_ENOMEM, as the batch. */
int ml__batch_once(ml_client *c, const char *op, ml__batch_fn batch, ml__item *items, size_t n);

#endif
