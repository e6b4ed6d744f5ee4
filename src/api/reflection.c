/* reflection: gRPC server reflection answered from an embedded
 * FileDescriptorSet.
 *
 * The descriptor set is walked in its wire form (a few varints and
 * length-delimited fields of descriptor.proto), so no descriptor.proto
 * bindings are needed: FileDescriptorSet.file = 1; FileDescriptorProto name
 * = 1, package = 2, message_type = 4, enum_type = 5, service = 6, extension
 * = 7; DescriptorProto name = 1, field = 2, nested_type = 3, enum_type = 4,
 * extension = 6, oneof_decl = 8; EnumDescriptorProto name = 1, value = 2;
 * ServiceDescriptorProto name = 1, method = 2; every leaf has name = 1. */
#include "api/reflection.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reflection.pb-c.h"
#include "common/mem.h"

#define GRPC_CODE_INVALID_ARGUMENT 3
#define GRPC_CODE_NOT_FOUND        5

struct refl_file {
    char *name;    /* "maglev.proto" */
    char *package; /* "maglev", "" when none */
    const uint8_t *data;
    size_t len;
};

struct api_reflect {
    uint8_t *set; /* our copy; files point into it */
    struct refl_file *files;
    size_t n_files;
    char *service;
};

/* One field of a protobuf message in wire form. */
struct pb_field {
    uint32_t num;
    int wire;            /* 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 */
    const uint8_t *data; /* wire 2 */
    size_t len;
};

static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* 1 with *f filled, 0 at the end, -1 on malformed input. */
static int pb_next(const uint8_t **p, const uint8_t *end, struct pb_field *f)
{
    uint64_t key, v;
    if (*p >= end)
        return 0;
    if (pb_varint(p, end, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return -1;
    f->num = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    f->data = NULL;
    f->len = 0;
    switch (f->wire) {
    case 0:
        return pb_varint(p, end, &v) < 0 ? -1 : 1;
    case 1:
    case 5: {
        size_t n = f->wire == 1 ? 8 : 4;
        if ((size_t)(end - *p) < n)
            return -1;
        *p += n;
        return 1;
    }
    case 2:
        if (pb_varint(p, end, &v) < 0 || v > (uint64_t)(end - *p))
            return -1;
        f->data = *p;
        f->len = (size_t)v;
        *p += v;
        return 1;
    default:
        return -1;
    }
}

/* The string field num of a message (the last one wins, as in protobuf). */
static bool pb_string(const uint8_t *data, size_t len, uint32_t num, const uint8_t **s,
                      size_t *slen)
{
    const uint8_t *p = data, *end = data + len;
    struct pb_field f;
    bool found = false;
    while (pb_next(&p, end, &f) > 0) {
        if (f.num == num && f.wire == 2) {
            *s = f.data;
            *slen = f.len;
            found = true;
        }
    }
    return found;
}

enum scope { SCOPE_FILE, SCOPE_MESSAGE, SCOPE_ENUM, SCOPE_SERVICE, SCOPE_LEAF };

/* What a field of a scope declares. */
static enum scope child_scope(enum scope parent, uint32_t num)
{
    if (parent == SCOPE_FILE) {
        switch (num) {
        case 4:
            return SCOPE_MESSAGE;
        case 5:
            return SCOPE_ENUM;
        case 6:
            return SCOPE_SERVICE;
        case 7:
            return SCOPE_LEAF;
        }
    } else if (parent == SCOPE_MESSAGE) {
        switch (num) {
        case 2:
        case 6:
        case 8:
            return SCOPE_LEAF;
        case 3:
            return SCOPE_MESSAGE;
        case 4:
            return SCOPE_ENUM;
        }
    } else if (parent == SCOPE_SERVICE && num == 2) {
        return SCOPE_LEAF; /* method */
    } else if (parent == SCOPE_ENUM && num == 2) {
        return SCOPE_LEAF; /* value */
    }
    return SCOPE_FILE; /* not a declaration */
}

/* Does the scope (data, kind) declare sym (relative to the scope)? Enum
 * values live in the enum's parent scope, as in C++. */
static bool scope_declares(const uint8_t *data, size_t len, enum scope kind, const char *sym,
                           size_t symlen)
{
    const uint8_t *p = data, *end = data + len;
    struct pb_field f;
    while (pb_next(&p, end, &f) > 0) {
        if (f.wire != 2)
            continue;
        enum scope ck = child_scope(kind, f.num);
        const uint8_t *name = NULL;
        size_t nlen = 0;
        if (ck == SCOPE_FILE || !pb_string(f.data, f.len, 1, &name, &nlen))
            continue;
        if (nlen == symlen && memcmp(name, sym, nlen) == 0)
            return true;
        if (ck == SCOPE_ENUM && scope_declares(f.data, f.len, SCOPE_ENUM, sym, symlen))
            return true;
        if ((ck == SCOPE_MESSAGE || ck == SCOPE_SERVICE) && symlen > nlen + 1 &&
            memcmp(name, sym, nlen) == 0 && sym[nlen] == '.' &&
            scope_declares(f.data, f.len, ck, sym + nlen + 1, symlen - nlen - 1))
            return true;
    }
    return false;
}

static const struct refl_file *file_by_symbol(const struct api_reflect *r, const char *sym)
{
    if (sym[0] == '.')
        sym++;
    for (size_t i = 0; i < r->n_files; i++) {
        const struct refl_file *f = &r->files[i];
        size_t plen = strlen(f->package);
        const char *rest = sym;
        if (plen) {
            if (strncmp(sym, f->package, plen) != 0 || sym[plen] != '.')
                continue;
            rest = sym + plen + 1;
        }
        if (*rest && scope_declares(f->data, f->len, SCOPE_FILE, rest, strlen(rest)))
            return f;
    }
    return NULL;
}

static const struct refl_file *file_by_name(const struct api_reflect *r, const char *name)
{
    for (size_t i = 0; i < r->n_files; i++) {
        if (strcmp(r->files[i].name, name) == 0)
            return &r->files[i];
    }
    return NULL;
}

static char *dup_field(const uint8_t *data, size_t len, uint32_t num)
{
    const uint8_t *s = (const uint8_t *)"";
    size_t slen = 0;
    pb_string(data, len, num, &s, &slen);
    char *out = malloc(slen + 1);
    if (out) {
        memcpy(out, s, slen);
        out[slen] = '\0';
    }
    return out;
}

int api_reflect_new(const unsigned char *set, size_t len, const char *service,
                    struct api_reflect **out, char *err, size_t errlen)
{
    struct api_reflect *r = mem_calloc(1, sizeof(*r));
    r->set = mem_alloc(len);
    r->service = mem_strdup(service);
    memcpy(r->set, set, len);
    const uint8_t *p = r->set, *end = r->set + len;
    struct pb_field f;
    int rc;
    while ((rc = pb_next(&p, end, &f)) > 0) {
        if (f.num != 1 || f.wire != 2)
            continue;
        struct refl_file *files = realloc(r->files, (r->n_files + 1) * sizeof(*files));
        if (!files) {
            rc = -1;
            break;
        }
        r->files = files;
        struct refl_file *rf = &files[r->n_files];
        *rf = (struct refl_file){ .data = f.data, .len = f.len };
        rf->name = dup_field(f.data, f.len, 1);
        rf->package = dup_field(f.data, f.len, 2);
        r->n_files++;
        if (!rf->name || !rf->package) {
            rc = -1;
            break;
        }
    }
    if (rc < 0 || r->n_files == 0) {
        snprintf(err, errlen, "reflection: the embedded descriptor set does not parse");
        api_reflect_free(r);
        return -EINVAL;
    }
    *out = r;
    return 0;
}

void api_reflect_free(struct api_reflect *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_files; i++) {
        free(r->files[i].name);
        free(r->files[i].package);
    }
    free(r->files);
    free(r->set);
    free(r->service);
    free(r);
}

int api_reflect_answer(const struct api_reflect *r, const uint8_t *req, size_t len, uint8_t **out,
                       size_t *outlen)
{
    Grpc__Reflection__V1__ServerReflectionRequest *q =
        grpc__reflection__v1__server_reflection_request__unpack(NULL, len, req);
    if (!q)
        return -EINVAL;

    Grpc__Reflection__V1__ServerReflectionResponse resp =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
    Grpc__Reflection__V1__FileDescriptorResponse fdr =
        GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
    Grpc__Reflection__V1__ListServiceResponse lsr =
        GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
    Grpc__Reflection__V1__ServiceResponse svc = GRPC__REFLECTION__V1__SERVICE_RESPONSE__INIT;
    Grpc__Reflection__V1__ServiceResponse *svcs[1] = { &svc };
    Grpc__Reflection__V1__ExtensionNumberResponse enr =
        GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
    Grpc__Reflection__V1__ErrorResponse er = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
    ProtobufCBinaryData fd;
    char msg[300];
    const struct refl_file *file = NULL;

    resp.valid_host = q->host;
    resp.original_request = q;
    er.error_code = GRPC_CODE_NOT_FOUND;
    er.error_message = msg;
    switch (q->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        svc.name = r->service;
        lsr.n_service = 1;
        lsr.service = svcs;
        resp.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
        resp.list_services_response = &lsr;
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        file = file_by_name(r, q->file_by_filename);
        snprintf(msg, sizeof(msg), "file not found: %s", q->file_by_filename);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        file = file_by_symbol(r, q->file_containing_symbol);
        snprintf(msg, sizeof(msg), "symbol not found: %s", q->file_containing_symbol);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        /* proto3 has no extensions: a known type has none */
        if (file_by_symbol(r, q->all_extension_numbers_of_type)) {
            enr.base_type_name = q->all_extension_numbers_of_type;
            resp.message_response_case =
                GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
            resp.all_extension_numbers_response = &enr;
        }
        snprintf(msg, sizeof(msg), "type not found: %s", q->all_extension_numbers_of_type);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
        snprintf(msg, sizeof(msg), "extension not found: %s %d",
                 q->file_containing_extension ? q->file_containing_extension->containing_type : "",
                 q->file_containing_extension ? q->file_containing_extension->extension_number : 0);
        break;
    default:
        er.error_code = GRPC_CODE_INVALID_ARGUMENT;
        snprintf(msg, sizeof(msg), "empty reflection request");
        break;
    }
    if (file) {
        fd.data = (uint8_t *)file->data;
        fd.len = file->len;
        fdr.n_file_descriptor_proto = 1;
        fdr.file_descriptor_proto = &fd;
        resp.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
        resp.file_descriptor_response = &fdr;
    } else if (resp.message_response_case ==
               GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE__NOT_SET) {
        resp.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
        resp.error_response = &er;
    }

    int rc = 0;
    *outlen = grpc__reflection__v1__server_reflection_response__get_packed_size(&resp);
    *out = mem_alloc(*outlen);
    grpc__reflection__v1__server_reflection_response__pack(&resp, *out);
    grpc__reflection__v1__server_reflection_request__free_unpacked(q, NULL);
    return rc;
}
