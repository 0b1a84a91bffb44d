/* Registry error bodies (distribution spec "Error Codes"). Kept apart until
 * the JSON model grows a home for it. */
#include <string.h>

#include <cjson/cJSON.h>

#include "registry.h"
#include "util.h"

/* Registry text quoted in messages: enough to tell what went wrong. */
#define QUOTE_MAX 512

/* Made printable: a registry's text may carry line breaks and terminal
 * escapes, and messages end up on terminals and in logs. */
static char *string_field(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? ml__sanitize(v->valuestring, strlen(v->valuestring), QUOTE_MAX) : NULL;
}

int ml__tags_parse(const char *body, size_t len, ml__strvec *tags)
{
    cJSON *root = cJSON_ParseWithLengthOpts(body ? body : "", len, NULL, 0);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "tags");
    int rc = cJSON_IsArray(list) || cJSON_IsNull(list) ? ML_OK : ML_EMANIFEST;
    for (const cJSON *t = cJSON_IsArray(list) ? list->child : NULL; rc == ML_OK && t; t = t->next)
        if (cJSON_IsString(t))
            rc = ml__strvec_push(tags, t->valuestring);
    cJSON_Delete(root);
    return rc;
}

void ml__registry_error_parse(const char *body, size_t len, char **code, char **message)
{
    *code = *message = NULL;
    if (!body || len == 0)
        return;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
    const cJSON *errors = cJSON_GetObjectItemCaseSensitive(root, "errors");
    const cJSON *first = cJSON_IsArray(errors) ? cJSON_GetArrayItem(errors, 0) : NULL;
    if (cJSON_IsObject(first)) {
        *code = string_field(first, "code");
        *message = string_field(first, "message");
    }
    cJSON_Delete(root);
}
