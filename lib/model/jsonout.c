#include "jsonout.h"

void ml__jw_annotations(ml__json_writer *w, const char *key, const ml__annotations *a)
{
    ml__jw_object(w, key);
    for (size_t i = 0; i < a->count; i++)
        ml__jw_string(w, a->keys[i], a->values[i]);
    ml__jw_end_object(w);
}

static void string_field(ml__json_writer *w, const char *key, const char *value)
{
    if (value && *value)
        ml__jw_string(w, key, value);
}

static void strings_field(ml__json_writer *w, const char *key, const ml__strvec *v)
{
    if (v->count)
        ml__jw_strings(w, key, v);
}

void ml__jw_platform(ml__json_writer *w, const char *key, const ml_platform *p)
{
    ml__jw_object(w, key);
    ml__jw_string(w, "architecture", p->architecture ? p->architecture : "");
    ml__jw_string(w, "os", p->os ? p->os : "");
    string_field(w, "variant", p->variant);
    string_field(w, "os.version", p->os_version);
    strings_field(w, "os.features", &p->os_features);
    strings_field(w, "features", &p->features);
    ml__jw_end_object(w);
}
