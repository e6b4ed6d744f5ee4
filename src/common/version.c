#include "common/version.h"
#include "version_gen.h"

const char *version_string(void)
{
    return MAGLEV_VERSION;
}

const char *version_commit(void)
{
    return MAGLEV_COMMIT;
}

const char *version_date(void)
{
    return MAGLEV_BUILD_DATE;
}
