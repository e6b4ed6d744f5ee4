/* json: descriptor-driven JSON for protobuf-c messages (see json.h). */
#include "cli/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- strings ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void json_string(struct strbuf *sb, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    strbuf_addc(sb, '"');
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t run = i;
        /* copy plain printable ASCII in one go */
        while (run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            strbuf_add(sb, s + i, run - i);
            i = run;
            continue;
        }
        switch (c) {
        case '"':
            strbuf_adds(sb, "\\\"");
            break;
        case '\\':
            strbuf_adds(sb, "\\\\");
            break;
        case '\b':
            strbuf_adds(sb, "\\b");
            break;
        case '\f':
            strbuf_adds(sb, "\\f");
            break;
        case '\n':
            strbuf_adds(sb, "\\n");
            break;
        case '\r':
            strbuf_adds(sb, "\\r");
            break;
        case '\t':
            strbuf_adds(sb, "\\t");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                strbuf_addf(sb, "\\u%04x", c);
            } else {
                size_t n = utf8_seq(p + i, len - i);
                if (n) {
                    strbuf_add(sb, s + i, n);
                    i += n;
                    continue;
                }
                strbuf_adds(sb, "\\ufffd");
            }
            break;
        }
        i++;
    }
    strbuf_addc(sb, '"');
}

static void json_cstr(struct strbuf *sb, const char *s)
{
    s = s ? s : "";
    json_string(sb, s, strlen(s));
}

/* ---- layout ---- */

static void newline(struct strbuf *sb, bool pretty, int level)
{
    if (!pretty)
        return;
    strbuf_addc(sb, '\n');
    for (int i = 0; i < level; i++)
        strbuf_adds(sb, "  ");
}

static void key(struct strbuf *sb, bool pretty, const char *name)
{
    json_cstr(sb, name);
    strbuf_adds(sb, pretty ? ": " : ":");
}

static void base64(struct strbuf *sb, const uint8_t *d, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    strbuf_addc(sb, '"');
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        strbuf_addc(sb, tab[(v >> 18) & 63]);
        strbuf_addc(sb, tab[(v >> 12) & 63]);
        strbuf_addc(sb, i + 1 < n ? tab[(v >> 6) & 63] : '=');
        strbuf_addc(sb, i + 2 < n ? tab[v & 63] : '=');
    }
    strbuf_addc(sb, '"');
}

/* ---- values ---- */

static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static void number(struct strbuf *sb, double d, const char *fmt)
{
    if (isfinite(d))
        strbuf_addf(sb, fmt, d);
    else
        strbuf_adds(sb, "null");
}

static void value(struct strbuf *sb, const ProtobufCFieldDescriptor *f, const void *p, bool pretty,
                  int level)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        strbuf_addf(sb, "%" PRId32, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        strbuf_addf(sb, "%" PRIu32, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        strbuf_addf(sb, "%" PRId64, *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        strbuf_addf(sb, "%" PRIu64, *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        number(sb, *(const float *)p, "%.9g");
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        number(sb, *(const double *)p, "%.17g");
        break;
    case PROTOBUF_C_TYPE_BOOL:
        strbuf_adds(sb, *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        if (ev)
            json_cstr(sb, ev->name);
        else
            strbuf_addf(sb, "%d", v);
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        json_cstr(sb, *(char *const *)p);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        base64(sb, b->data, b->len);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(const ProtobufCMessage *const *)p;
        if (m)
            json_message(sb, m, pretty, level);
        else
            strbuf_adds(sb, "null");
        break;
    }
    }
}

/* A repeated XxxEntry {key = 1; value = 2} message: a protobuf map. */
static bool is_map(const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t n = strlen(d->name);
    return d->n_fields == 2 && n > 5 && strcmp(d->name + n - 5, "Entry") == 0 &&
           strcmp(d->fields[0].name, "key") == 0 && d->fields[0].id == 1 &&
           strcmp(d->fields[1].name, "value") == 0 && d->fields[1].id == 2;
}

static void map(struct strbuf *sb, const ProtobufCFieldDescriptor *f, size_t n,
                const ProtobufCMessage *const *v, bool pretty, int level)
{
    if (!n) {
        strbuf_adds(sb, "{}");
        return;
    }
    const ProtobufCMessageDescriptor *d = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &d->fields[0], *vf = &d->fields[1];
    strbuf_addc(sb, '{');
    for (size_t i = 0; i < n; i++) {
        const char *base = (const char *)v[i];
        newline(sb, pretty, level + 1);
        if (kf->type == PROTOBUF_C_TYPE_STRING) {
            json_cstr(sb, *(char *const *)(base + kf->offset));
        } else {
            struct strbuf k = STRBUF_INIT;
            value(&k, kf, base + kf->offset, false, 0);
            json_string(sb, strbuf_str(&k), k.len);
            strbuf_free(&k);
        }
        strbuf_adds(sb, pretty ? ": " : ":");
        value(sb, vf, base + vf->offset, pretty, level + 1);
        if (i + 1 < n)
            strbuf_addc(sb, ',');
    }
    newline(sb, pretty, level);
    strbuf_addc(sb, '}');
}

static void repeated(struct strbuf *sb, const ProtobufCFieldDescriptor *f, const char *base,
                     bool pretty, int level)
{
    size_t n = *(const size_t *)(base + f->quantifier_offset);
    const char *arr = *(const char *const *)(base + f->offset);
    if (is_map(f)) {
        map(sb, f, n, (const ProtobufCMessage *const *)arr, pretty, level);
        return;
    }
    if (!n) {
        strbuf_adds(sb, "[]");
        return;
    }
    /* scalars on one line, messages one per line */
    bool nested = pretty && f->type == PROTOBUF_C_TYPE_MESSAGE;
    size_t sz = elem_size(f->type);
    strbuf_addc(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_adds(sb, pretty && !nested ? ", " : ",");
        newline(sb, nested, level + 1);
        value(sb, f, arr + i * sz, pretty, level + 1);
    }
    newline(sb, nested, level);
    strbuf_addc(sb, ']');
}

/* Is the field present? proto3 singular fields always are. */
static bool present(const ProtobufCFieldDescriptor *f, const char *base)
{
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    if (f->label != PROTOBUF_C_LABEL_OPTIONAL)
        return true;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING)
        return *(const void *const *)(base + f->offset) != NULL;
    return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
}

void json_message(struct strbuf *sb, const ProtobufCMessage *msg, bool pretty, int level)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *base = (const char *)msg;
    bool first = true;
    strbuf_addc(sb, '{');
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label != PROTOBUF_C_LABEL_REPEATED && !present(f, base))
            continue;
        if (!first)
            strbuf_addc(sb, ',');
        first = false;
        newline(sb, pretty, level + 1);
        key(sb, pretty, f->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            repeated(sb, f, base, pretty, level + 1);
        else
            value(sb, f, base + f->offset, pretty, level + 1);
    }
    if (!first)
        newline(sb, pretty, level);
    strbuf_addc(sb, '}');
}

void json_version(struct strbuf *sb, const char *version, const char *commit,
                  const char *build_date, const ProtobufCMessage *server, bool pretty)
{
    strbuf_addc(sb, '{');
    newline(sb, pretty, 1);
    key(sb, pretty, "client");
    strbuf_addc(sb, '{');
    const char *k[] = { "version", "commit", "build_date" };
    const char *v[] = { version, commit, build_date };
    for (int i = 0; i < 3; i++) {
        newline(sb, pretty, 2);
        key(sb, pretty, k[i]);
        json_cstr(sb, v[i]);
        if (i < 2)
            strbuf_addc(sb, ',');
    }
    newline(sb, pretty, 1);
    strbuf_adds(sb, "},");
    newline(sb, pretty, 1);
    key(sb, pretty, "server");
    if (server)
        json_message(sb, server, pretty, 1);
    else
        strbuf_adds(sb, "null");
    newline(sb, pretty, 0);
    strbuf_addc(sb, '}');
}
