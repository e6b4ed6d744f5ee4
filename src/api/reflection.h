/* reflection: internal to src/api (grpc_server.c answers reflection calls
 * with it); not for the rest of the daemon. */
#ifndef MAGLEV_API_REFLECTION_H
#define MAGLEV_API_REFLECTION_H

#include <stddef.h>
#include <stdint.h>

/* gRPC server reflection (grpc.reflection.v1 and v1alpha, wire-identical)
 * answered from a FileDescriptorSet. Pure: bytes in, bytes out. */
struct api_reflect;

/* Parses set (a serialised google.protobuf.FileDescriptorSet; copied).
 * service is the one service listed by list_services ("maglev.Maglev").
 * 0, or -EINVAL with err set when set does not parse. */
int api_reflect_new(const unsigned char *set, size_t len, const char *service,
                    struct api_reflect **out, char *err, size_t errlen);
void api_reflect_free(struct api_reflect *r);

/* Answers one serialised ServerReflectionRequest with a serialised
 * ServerReflectionResponse (malloc'd, *out). 0, -EINVAL for a request that
 * does not parse. */
int api_reflect_answer(const struct api_reflect *r, const uint8_t *req, size_t len, uint8_t **out,
                       size_t *outlen);

#endif
