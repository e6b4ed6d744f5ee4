/* Internal to the gRPC server module: the TLS material of TCP listeners
 * (tls.c), loaded by api_tls_load (grpc_server.h) before the server starts
 * and read-only while it runs. */
#ifndef MAGLEV_API_TLS_INT_H
#define MAGLEV_API_TLS_INT_H

#include <grpc/grpc_security.h>
#include <stdbool.h>

/* api_tls_load was given a certificate: TCP listeners use TLS. */
bool api_tls_enabled(void);
/* Server credentials that require and verify a client certificate signed
 * by the client CA; NULL without TLS. Release with
 * grpc_server_credentials_release. */
grpc_server_credentials *api_tls_server_credentials(void);

#endif
