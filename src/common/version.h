/* version: the build's identity (VERSION file, git commit, UTC build date). */
#ifndef MAGLEV_COMMON_VERSION_H
#define MAGLEV_COMMON_VERSION_H

#define MAGLEV_PROJECT_URL "https://github.com/vpp-maglev/vpp-maglev"

const char *version_string(void); /* "0.1.0" */
const char *version_commit(void); /* short git hash, or "unknown" */
const char *version_date(void);   /* UTC build date, ISO-8601 */

#endif
