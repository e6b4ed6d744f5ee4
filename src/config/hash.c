/* hash.c: the config's identity for comparing load balancers (see
 * config.h, config_hash_hex). */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

void config_hash_hex(const struct maglev_config *cfg, char out[CONFIG_HASH_HEX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *dump = config_dump(cfg);
    int ok = EVP_Digest(dump, strlen(dump), md, &mdlen, EVP_sha256(), NULL);
    free(dump);
    if (!ok || mdlen != (CONFIG_HASH_HEX - 1) / 2) {
        out[0] = '\0'; /* libcrypto without SHA-256: no hash rather than a wrong one */
        return;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[2 * mdlen] = '\0';
}
