/* build: daemon state -> protobuf-c messages, allocated in an arena.
 * Internal to src/api; reads the core, changes nothing. */
#ifndef MAGLEV_API_BUILD_H
#define MAGLEV_API_BUILD_H

#include "api/arena.h"
#include "core/core.h"
#include "maglev.pb-c.h"
#include "vpp/lb.h"

Maglev__Transition *api_build_transition(struct arena *a, const struct health_transition *t);
Maglev__Frontend *api_build_frontend(struct arena *a, const struct core *c, size_t i);
/* i: index of the backend in the config. */
Maglev__Backend *api_build_backend(struct arena *a, const struct core *c, size_t i);
Maglev__HealthCheck *api_build_healthcheck(struct arena *a, const struct core *c, size_t i);
Maglev__ConfigResult *api_build_config_result(struct arena *a, const struct core *c,
                                              const struct config_diags *d,
                                              const struct maglev_config *ok_cfg);
Maglev__Event *api_build_backend_event(struct arena *a, const struct backend_rt *b,
                                       const struct health_transition *t, bool initial);
Maglev__Event *api_build_frontend_event(struct arena *a, const struct frontend_conf *fe,
                                        enum fe_state from, enum fe_state to, int active_pool,
                                        bool panic, bool initial);
/* One AS change in VPP (WatchEvents vpp). */
Maglev__Event *api_build_vpp_event(struct arena *a, const struct core_vpp_change *ch);

#endif
