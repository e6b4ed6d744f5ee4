/* The one C++ file: settings of abseil (under gRPC C core) that have no C
 * API.
 *
 * absl::Mutex's deadlock detection keeps a graph node for every mutex ever
 * locked, in memory of its own (64 KiB blocks mmapped and never given
 * back): gRPC creates several mutexes per connection, so a flood of API
 * connections grew maglevd by ~3 KiB a connection for good (4.3 MB after
 * 1,500). It is a debugging aid (it aborts on a lock-order cycle); off. */
#include <absl/synchronization/mutex.h>

#include "api/absl_tune.h"

extern "C" void api_absl_tune(void)
{
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}
