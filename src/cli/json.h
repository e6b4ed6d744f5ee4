/* json: protobuf-c messages as JSON for scripts (maglevc --json). Pure.
 *
 * Driven by the message descriptor, so every message of maglev.proto comes
 * out the same way and the field names are the .proto's (snake_case), which
 * stay stable:
 *   - every field is written, defaults included (0, false, "", [], {});
 *   - of a oneof only the member that is set;
 *   - 64-bit integers as JSON numbers (µs timestamps stay below 2^53);
 *   - map fields (repeated XxxEntry {key, value}) as objects;
 *   - enums by name, bytes as base64, a missing sub-message as null.
 * Strings: '"', '\\' and control characters escaped (\n \t ... \u00XX),
 * valid UTF-8 passed through, invalid bytes replaced by \ufffd, so the
 * output is always valid JSON. */
#ifndef MAGLEV_CLI_JSON_H
#define MAGLEV_CLI_JSON_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

/* Appends s[0..len-1] as a JSON string literal. */
void json_string(struct strbuf *sb, const char *s, size_t len);

/* Appends msg as a JSON object: pretty (two-blank indent, starting at
 * `level`) or compact on one line. No trailing newline. */
void json_message(struct strbuf *sb, const ProtobufCMessage *msg, bool pretty, int level);

/* {"client": {"version", "commit", "build_date"}, "server": VersionInfo or
 * null}, for `show version`. */
void json_version(struct strbuf *sb, const char *version, const char *commit,
                  const char *build_date, const ProtobufCMessage *server, bool pretty);

#endif
