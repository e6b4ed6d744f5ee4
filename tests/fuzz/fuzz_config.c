/* libFuzzer target: the config loader must never crash, leak or hang, and
 * any config it accepts must dump to YAML that loads again to the same dump. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    if (config_load_buffer("fuzz.yaml", (const char *)data, size, &cfg, &d) < 0) {
        if (d.n == 0 || config_exit_code(&d) == 0)
            abort(); /* a failure must say why */
        for (size_t i = 0; i < d.n; i++)
            free(config_diag_format(&d, i));
        config_diags_free(&d);
        return 0;
    }
    config_diags_free(&d);
    char *dump = config_dump(cfg);
    struct config_diags d2 = { 0 };
    struct maglev_config *again = NULL;
    if (config_load_buffer("dump.yaml", dump, strlen(dump), &again, &d2) < 0) {
        fprintf(stderr, "dump does not load:\n%s\n", dump);
        abort();
    }
    char *dump2 = config_dump(again);
    if (strcmp(dump, dump2) != 0) {
        fprintf(stderr, "dump is not a fixed point:\n%s\n---\n%s\n", dump, dump2);
        abort();
    }
    free(dump);
    free(dump2);
    config_free(again);
    config_free(cfg);
    config_diags_free(&d2);
    return 0;
}
