/* Settings of abseil (under gRPC C core) made before grpc_init(). */
#ifndef MAGLEV_API_ABSL_TUNE_H
#define MAGLEV_API_ABSL_TUNE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Turns absl::Mutex's deadlock detection off (see absl_tune.cc). */
void api_absl_tune(void);

#ifdef __cplusplus
}
#endif

#endif
