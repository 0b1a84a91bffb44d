/* A complete program against libmanifestlist: build a spec, show the plan,
 * and check that the YAML spec of the same list reads the same.
 * Build: cc example.c $(pkg-config --cflags --libs manifestlist) */
#include <stdio.h>
#include <string.h>

#include <manifestlist.h>

static const char spec_yaml[] =
    "image: registry.example.com/team/app:1.2\n"
    "manifests:\n"
    "  - image: registry.example.com/team/app:1.2-amd64\n"
    "    platform: {architecture: x86_64, os: Linux}\n"
    "  - image: registry.example.com/team/app:1.2-arm64\n"
    "    platform: {architecture: arm64, os: linux, variant: v8}\n";

static int build(ml_spec **spec, ml_error **err)
{
    size_t list = 0;
    int rc = ml_spec_new(spec, NULL, err);
    if (rc == ML_OK)
        rc = ml_spec_add_list(*spec, "registry.example.com/team/app:1.2", &list, err);
    if (rc == ML_OK)
        rc = ml_spec_add_entry(*spec, list, "registry.example.com/team/app:1.2-amd64",
                               "Linux/x86_64", NULL, err);
    if (rc == ML_OK)
        rc = ml_spec_add_entry(*spec, list, "registry.example.com/team/app:1.2-arm64",
                               "linux/arm64/v8", NULL, err);
    if (rc == ML_OK)
        rc = ml_spec_check(*spec, err);
    return rc;
}

/* Built and parsed: the same normalised spec. */
static int same_as_yaml(const ml_spec *built, ml_error **err)
{
    ml_spec *parsed = NULL;
    char *a = NULL, *b = NULL;
    int rc = ml_spec_parse_buffer(&parsed, spec_yaml, strlen(spec_yaml), "example.yaml", NULL, err);
    if (rc == ML_OK)
        rc = ml_spec_to_json(built, &a, err);
    if (rc == ML_OK)
        rc = ml_spec_to_json(parsed, &b, err);
    int same = rc == ML_OK && strcmp(a, b) == 0;
    ml_free(a);
    ml_free(b);
    ml_spec_free(parsed);
    return rc == ML_OK && !same ? ML_ESPEC : rc;
}

int main(void)
{
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    int rc = build(&spec, &err);
    if (rc == ML_OK)
        rc = same_as_yaml(spec, &err);
    if (rc != ML_OK) {
        fprintf(stderr, "%s\n", err ? ml_error_message(err) : "built and parsed specs differ");
        ml_error_free(err);
        ml_spec_free(spec);
        return 1;
    }
    printf("libmanifestlist %s: %s\n", ml_version(), ml_spec_target(spec, 0));
    for (size_t i = 0; i < ml_spec_entry_count(spec, 0); i++) {
        char *platform = NULL;
        ml_spec_entry_platform(spec, 0, i, &platform, NULL);
        printf("  %s %s\n", platform ? platform : "(from config)", ml_spec_entry_image(spec, 0, i));
        ml_free(platform);
    }
    for (size_t i = 0; i < ml_spec_warning_count(spec); i++)
        printf("  warning: %s\n", ml_spec_warning(spec, i));
    ml_spec_free(spec);
    return 0;
}
