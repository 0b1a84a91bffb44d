/* A complete program against libmanifestlist: parse a spec, show the plan.
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

int main(void)
{
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    if (ml_spec_parse_buffer(&spec, spec_yaml, strlen(spec_yaml), "example.yaml", NULL, &err) != ML_OK) {
        fprintf(stderr, "%s\n", ml_error_message(err));
        ml_error_free(err);
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
