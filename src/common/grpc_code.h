/* common/grpc_code: the names of gRPC's status codes ("OK" .. "UNAUTHENTICATED"),
 * shared by the server (metrics, logs) and maglevc (error messages). Pure. */
#ifndef MAGLEV_COMMON_GRPC_CODE_H
#define MAGLEV_COMMON_GRPC_CODE_H

#define GRPC_CODE_COUNT 17 /* OK (0) .. UNAUTHENTICATED (16) */

/* The code's canonical name; "UNKNOWN" for a code outside 0..16. */
const char *grpc_code_name(int code);

#endif
