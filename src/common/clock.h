/* clock: the daemon's two clocks, in microseconds.
 *
 *   clock_mono_us()  CLOCK_MONOTONIC: durations, deadlines, "took" figures
 *                    (never jumps with NTP or the operator's `date`);
 *   clock_wall_us()  CLOCK_REALTIME since the epoch: timestamps shown to
 *                    people and sent over the API (`*_time_us`, `*_us`
 *                    fields named as points in time).
 * Everything measuring how long something took uses the monotonic one. */
#ifndef MAGLEV_COMMON_CLOCK_H
#define MAGLEV_COMMON_CLOCK_H

#include <stdint.h>

int64_t clock_mono_us(void);
int64_t clock_wall_us(void);

#endif
