/* tls.c: the TLS material of the API's TCP listeners — the PEM files
 * checked and read at start-up (api_tls_load), and gRPC core's SSL server
 * credentials built from them (mutual authentication: the client's
 * certificate is required and verified against the client CA). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/grpc_server.h"
#include "api/tls_int.h"
#include "common/mem.h"

/* What api_tls_load read: set before the server starts, read-only while it
 * runs. NULL cert: plaintext TCP listeners. */
static struct {
    char *cert, *key, *client_ca;
} tls;

/* Reads a whole PEM file that must hold a block "-----BEGIN ...WHAT-----". */
static int read_pem(const char *flag, const char *path, const char *what, char **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    FILE *f = path && *path ? fopen(path, "re") : NULL;
    if (!f) {
        int e = path && *path ? errno : EINVAL;
        snprintf(err, errlen, "%s %s: cannot read the file: %s; give a readable PEM file", flag,
                 path ? path : "", path && *path ? strerror(e) : "no file named");
        return -e;
    }
    size_t cap = 4096, len = 0;
    char *buf = mem_alloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap && cap < (1u << 24))
            buf = mem_realloc(buf, cap *= 2);
        else if (len + 1 == cap)
            break;
    }
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    buf[len] = '\0';
    /* a "-----BEGIN ...WHAT-----" block (an EC key may follow parameters) */
    bool found = false;
    size_t wl = strlen(what);
    for (const char *b = strstr(buf, "-----BEGIN "); b && !found;
         b = strstr(b + 11, "-----BEGIN ")) {
        const char *eol = strstr(b + 11, "-----");
        found = eol && (size_t)(eol - b) >= wl + 11 && strncmp(eol - wl, what, wl) == 0 &&
                strstr(eol, "-----END ");
    }
    bool ok = !rerr && len > 0 && strlen(buf) == len && found;
    if (!ok) {
        snprintf(err, errlen, "%s %s: %s; give a PEM file with a \"-----BEGIN %s-----\" block",
                 flag, path,
                 rerr       ? strerror(rerr)
                 : len == 0 ? "the file is empty"
                            : "not a PEM file of the "
                              "expected kind",
                 what);
        free(buf);
        return -EINVAL;
    }
    *out = buf;
    return 0;
}

int api_tls_load(const struct api_tls_files *f, char *err, size_t errlen)
{
    api_tls_unload();
    if (!f || !f->cert)
        return 0;
    char *cert, *key = NULL, *ca = NULL;
    int rc = read_pem("--grpc-tls-cert", f->cert, "CERTIFICATE", &cert, err, errlen);
    if (rc == 0)
        rc = read_pem("--grpc-tls-key", f->key, "PRIVATE KEY", &key, err, errlen);
    if (rc == 0)
        rc = read_pem("--grpc-tls-client-ca", f->client_ca, "CERTIFICATE", &ca, err, errlen);
    if (rc < 0) {
        free(cert);
        free(key);
        free(ca);
        return rc;
    }
    tls.cert = cert;
    tls.key = key;
    tls.client_ca = ca;
    return 0;
}

void api_tls_unload(void)
{
    free(tls.cert);
    if (tls.key) /* a private key: not left in freed memory */
        memset(tls.key, 0, strlen(tls.key));
    free(tls.key);
    free(tls.client_ca);
    tls.cert = tls.key = tls.client_ca = NULL;
}

bool api_tls_enabled(void)
{
    return tls.cert != NULL;
}

grpc_server_credentials *api_tls_server_credentials(void)
{
    if (!tls.cert)
        return NULL;
    grpc_ssl_pem_key_cert_pair pair = { .private_key = tls.key, .cert_chain = tls.cert };
    return grpc_ssl_server_credentials_create_ex(
        tls.client_ca, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
}
