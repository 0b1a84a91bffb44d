/* Platforms from image configs: what a spec leaves out is filled from the
 * config (as manifest-tool and `docker manifest` do), and what it says is
 * checked against it, so a list never sends a runtime the wrong binary. */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "list.h"

/* Many entries share a rewrite (every x86_64 config): it is said once. */
static int platform_found(ml_list *l, ml__entry *e, ml_error **err)
{
    e->desc.has_platform = true;
    e->state = ML__ENTRY_DONE;
    if (l->spec_flags & ML_SPEC_NO_NORMALIZE)
        return ML_OK;
    ml__strvec rewrites = {0};
    int rc = ml__platform_normalize(&e->desc.platform, &rewrites);
    if (rc == ML_OK)
        rc = ml__strvec_merge(&l->warnings, &rewrites);
    ml__strvec_free(&rewrites);
    return rc == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}

/* A value either side leaves out agrees with anything. */
static bool values_agree(const char *spec, const char *config)
{
    return !spec || !*spec || !config || !*config || strcmp(spec, config) == 0;
}

/* Both normalised: what the spec leaves out, the config fills. */
static bool platforms_agree(const ml_platform *spec, const ml_platform *config)
{
    return ml__str_eq(spec->os, config->os) && ml__str_eq(spec->architecture, config->architecture) &&
           values_agree(spec->variant, config->variant) && values_agree(spec->os_version, config->os_version);
}

static int contradiction(const ml_list *l, const ml__entry *e, const ml_platform *spec,
                         const ml_platform *config, ml_error **err)
{
    char *said = ml__platform_format_all(spec), *found = ml__platform_format_all(config);
    int rc = said && found ? ml__error_set_printable(err, ML_EPLATFORM,
                                                     "image %s: the spec says platform %s, its image config says %s",
                                                     e->image, said, found)
                           : ml__error_set(err, ML_ENOMEM, "out of memory");
    free(said);
    free(found);
    if (rc == ML_ENOMEM)
        return rc;
    ml__error_locate(err, rc, l->spec_name, e->line, e->column);
    return ml__error_hint(err, rc, ML_HINT_TRUST_PLATFORMS);
}

/* The spec's platform, completed with what only the config gives. */
static int fill(ml_platform *p, const ml_platform *config)
{
    if (!p->variant && config->variant && !(p->variant = ml__strdup(config->variant)))
        return ML_ENOMEM;
    if (!p->os_version && config->os_version && !(p->os_version = ml__strdup(config->os_version)))
        return ML_ENOMEM;
    for (size_t i = 0; !p->os_features.count && i < config->os_features.count; i++)
        if (ml__strvec_push(&p->os_features, config->os_features.items[i]) != ML_OK)
            return ML_ENOMEM;
    return ML_OK;
}

static int check_and_fill(ml_list *l, ml__entry *e, const ml_platform *config, ml_error **err)
{
    /* Compared normalised whatever the spec asked for: "x86_64" is "amd64". */
    ml_platform spec = {0}, seen = {0};
    int rc = ml__platform_copy(&spec, &e->desc.platform);
    if (rc == ML_OK)
        rc = ml__platform_copy(&seen, config);
    if (rc == ML_OK)
        rc = ml__platform_normalize(&spec, NULL);
    if (rc == ML_OK)
        rc = ml__platform_normalize(&seen, NULL);
    if (rc != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    else if (!platforms_agree(&spec, &seen))
        rc = contradiction(l, e, &spec, &seen, err);
    else if (fill(&e->desc.platform, l->spec_flags & ML_SPEC_NO_NORMALIZE ? config : &seen) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__platform_clear(&spec);
    ml__platform_clear(&seen);
    e->state = ML__ENTRY_DONE;
    return rc;
}

int ml__entry_config_platform(ml_list *l, ml__entry *e, ml_platform *config, ml_error **err)
{
    int rc;
    if (e->check_config) {
        rc = check_and_fill(l, e, config, err);
        ml__platform_clear(config);
        return rc;
    }
    ml__platform_clear(&e->desc.platform);
    e->desc.platform = *config;
    *config = (ml_platform){0};
    return platform_found(l, e, err);
}

int ml__entry_config_without_platform(ml_list *l, ml__entry *e, const char *config_digest, ml_error **err)
{
    e->state = ML__ENTRY_DONE;
    if (ml__strvec_pushf(&l->warnings, "image %s: config %s states no platform; the spec's is not checked",
                         e->image, config_digest) == ML_OK)
        return ML_OK;
    return ml__error_set(err, ML_ENOMEM, "out of memory");
}

int ml__list_platforms_from_cache(ml_list *l, const char *cache_dir, ml_error **err)
{
    for (size_t i = 0; cache_dir && i < l->count; i++) {
        ml__entry *e = &l->entries[i];
        ml_platform config;
        if (e->state != ML__ENTRY_GET || !e->check_config || !e->desc.digest ||
            ml__kind_is_list(ml__kind_of(e->desc.media_type)) ||
            !ml__cache_get_manifest_platform(cache_dir, e->desc.digest, &config))
            continue;
        int rc = ml__entry_config_platform(l, e, &config, err);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}
