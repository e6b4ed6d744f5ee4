/* Internal to src/tester: helpers shared by report.c and live.c. */
#ifndef MAGLEV_TESTER_REPORT_INT_H
#define MAGLEV_TESTER_REPORT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "tester/tester.h"

/* Indexes of t->backends sorted by name (free() them). */
size_t *tester_backends_by_name(const struct tester_tally *t);
/* Responses over all backends. */
uint64_t tester_answers_total(const struct tester_tally *t);
/* part/whole in percent; 0 when whole is 0. */
double tester_pct(uint64_t part, uint64_t whole);
/* "refused 3, timeout 1", or "-" without errors. */
void tester_errors_text(struct strbuf *sb, const uint64_t *outcomes);
/* s as a JSON string literal. */
void tester_json_str(struct strbuf *sb, const char *s);

#endif
