#!/usr/bin/python3
"""vppapigen.py — VPP API JSON -> C codecs for maglevd (src/vpp/gen/).

Usage: tools/vppapigen.py JSON_DIR OUT_DIR

Reads every *.api.json in JSON_DIR (vppapigen's JSON output), picks the
messages listed in WANTED below (the list of shared/vpp/CRCS.txt), checks
their CRCs, and writes OUT_DIR/vpp_msgs.h and OUT_DIR/vpp_msgs.c: for each
message a host-order C struct, its name_crc, init/encode/decode/size (and
free, when the message owns allocated memory) functions, and vppmsg_table[].
The output is deterministic (no timestamps, no absolute paths); the Makefile
target `vpp-binapi` runs clang-format over it afterwards.

Wire rules (shared/vpp/PROTOCOL.md section 2): packed, big-endian integers,
u32 enums unless the enum says otherwise, fixed strings NUL-padded,
variable strings u32 length + bytes, variable arrays counted by an
earlier field.
"""
import json
import os
import sys

# (name, crc, fixed id or 0) — exactly the list in shared/vpp/CRCS.txt.
WANTED = [
    ("get_first_msg_id", "0xebf79a66", 10),
    ("get_first_msg_id_reply", "0x7d337472", 11),
    ("api_versions", "0x51077d14", 12),
    ("api_versions_reply", "0x5f0d99d6", 13),
    ("sockclnt_create", "0x455fb9c4", 15),
    ("sockclnt_create_reply", "0x35166268", 16),
    ("sockclnt_delete", "0x8ac76db6", 17),
    ("sockclnt_delete_reply", "0x8f38b1ee", 18),
    ("memclnt_keepalive", "0x51077d14", 21),
    ("memclnt_keepalive_reply", "0xe8d4e804", 22),
    ("control_ping", "0x51077d14", 23),
    ("control_ping_reply", "0xf6b0b8ca", 24),
    ("show_version", "0x51077d14", 0),
    ("show_version_reply", "0xc919bde1", 0),
    ("cli_inband", "0xf8377302", 0),
    ("cli_inband_reply", "0x05879051", 0),
    ("ip_route_lookup", "0x710d6471", 0),
    ("ip_route_lookup_reply", "0x5d8febcb", 0),
    ("lb_conf", "0x56cd3261", 0),
    ("lb_conf_reply", "0xe8d4e804", 0),
    ("lb_conf_get", "0x51077d14", 0),
    ("lb_conf_get_reply", "0x923427ac", 0),
    ("lb_add_del_vip", "0x6fa569c7", 0),
    ("lb_add_del_vip_reply", "0xe8d4e804", 0),
    ("lb_add_del_vip_v2", "0x7c520e0f", 0),
    ("lb_add_del_vip_v2_reply", "0xe8d4e804", 0),
    ("lb_add_del_as", "0x35d72500", 0),
    ("lb_add_del_as_reply", "0xe8d4e804", 0),
    ("lb_add_del_as_v2", "0x2f1d3b0e", 0),
    ("lb_add_del_as_v2_reply", "0xe8d4e804", 0),
    ("lb_as_set_weight", "0x2d89bdbd", 0),
    ("lb_as_set_weight_reply", "0xe8d4e804", 0),
    ("lb_flush_vip", "0x1063f819", 0),
    ("lb_flush_vip_reply", "0xe8d4e804", 0),
    ("lb_vip_dump", "0x56110cb7", 0),
    ("lb_vip_details", "0x1329ec9b", 0),
    ("lb_as_dump", "0x1063f819", 0),
    ("lb_as_details", "0x8d24c29e", 0),
    ("lb_as_v2_dump", "0x1063f819", 0),
    ("lb_as_v2_details", "0x90064aae", 0),
    ("lb_add_del_intf_nat4", "0x47d6e753", 0),
    ("lb_add_del_intf_nat4_reply", "0xe8d4e804", 0),
    ("lb_add_del_intf_nat6", "0x47d6e753", 0),
    ("lb_add_del_intf_nat6_reply", "0xe8d4e804", 0),
]

# Enums no wanted message references but callers want (lb_types.api).
EXTRA_ENUMS = ["lb_vip_type"]

# Fields VPP accepts as 0 but must never receive 0 (PROTOCOL.md 5.3/5.4):
# encode refuses them with -EINVAL; init() sets the .api default.
NONZERO = {
    ("lb_add_del_vip", "new_flows_table_length"),
    ("lb_add_del_vip_v2", "new_flows_table_length"),
    ("lb_conf", "sticky_buckets_per_core"),
}

PRIM = {
    "u8": ("uint8_t", 1, "u8"),
    "i8": ("int8_t", 1, "u8"),
    "u16": ("uint16_t", 2, "u16"),
    "i16": ("int16_t", 2, "u16"),
    "u32": ("uint32_t", 4, "u32"),
    "i32": ("int32_t", 4, "u32"),
    "u64": ("uint64_t", 8, "u64"),
    "i64": ("int64_t", 8, "u64"),
    "f64": ("double", 8, "f64"),
    "bool": ("bool", 1, "bool"),
}
UNSIGNED = {"u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t", "u64": "uint64_t"}
C_KEYWORDS = {"auto", "break", "case", "char", "const", "continue", "default", "do", "double",
              "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
              "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
              "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool"}


def die(msg):
    sys.stderr.write("vppapigen: %s\n" % msg)
    sys.exit(1)


def cname(n):
    return n + "_" if n in C_KEYWORDS else n


class Api:
    def __init__(self, jdir):
        self.files = []  # (basename, version, vl_api_version)
        self.types, self.unions, self.enums, self.aliases = {}, {}, {}, {}
        self.msgs = {}  # name -> (def, file)
        for fn in sorted(os.listdir(jdir)):
            if not fn.endswith(".api.json"):
                continue
            with open(os.path.join(jdir, fn)) as f:
                d = json.load(f)
            self.files.append((fn, d.get("options", {}).get("version", "?"),
                               d.get("vl_api_version", "?")))
            for t in d.get("types", []):
                self.types.setdefault(t[0], t)
            for u in d.get("unions", []):
                self.unions.setdefault(u[0], u)
            for e in d.get("enums", []) + d.get("enumflags", []):
                self.enums.setdefault(e[0], e)
            for k, v in d.get("aliases", {}).items():
                self.aliases.setdefault(k, v)
            for m in d.get("messages", []):
                self.msgs.setdefault(m[0], (m, fn))

    # A type reference -> (kind, name, dims) with kind prim/enum/struct/union/string.
    def resolve(self, tname):
        dims = []
        while True:
            if tname in PRIM or tname == "string":
                return ("prim" if tname != "string" else "string", tname, dims)
            base = tname[len("vl_api_"):-2] if tname.startswith("vl_api_") else tname
            if base in self.aliases:
                a = self.aliases[base]
                if "length" in a:
                    dims = dims + [a["length"]]
                tname = a["type"]
                continue
            if base in self.enums:
                return ("enum", base, dims)
            if base in self.types:
                return ("struct", base, dims)
            if base in self.unions:
                return ("union", base, dims)
            die("unknown type %s" % tname)

    def enum_base(self, name):
        e = self.enums[name]
        opts = e[-1] if isinstance(e[-1], dict) else {}
        return opts.get("enumtype", "u32")


def fields_of(d):
    out = []
    for f in d[1:]:
        if isinstance(f, dict):
            continue
        ftype, fname = f[0], f[1]
        rest = [x for x in f[2:] if not isinstance(x, dict)]
        opts = next((x for x in f[2:] if isinstance(x, dict)), {})
        arr, count = None, None
        if rest:
            arr = rest[0]
            if len(rest) > 1:
                count = rest[1]
        out.append({"type": ftype, "name": fname, "arr": arr, "count": count, "opts": opts})
    return out


class Gen:
    def __init__(self, api):
        self.api = api
        self.order = []  # (kind, name) emitted definitions, dependencies first
        self.seen = set()
        self.size_cache = {}
        self.owns_cache = {}

    # --- dependency collection -------------------------------------------
    def need(self, tname):
        kind, name, _ = self.api.resolve(tname)
        if kind in ("prim", "string") or (kind, name) in self.seen:
            return
        self.seen.add((kind, name))
        if kind == "struct":
            for f in fields_of(self.api.types[name]):
                self.need(f["type"])
        elif kind == "union":
            for f in fields_of(self.api.unions[name]):
                self.need(f["type"])
        self.order.append((kind, name))

    # --- sizes -----------------------------------------------------------
    def wire_size(self, tname):
        """Minimum wire size of one element of tname (VLAs count 0)."""
        kind, name, dims = self.api.resolve(tname)
        n = 1
        for d in dims:
            n *= d
        if kind == "prim":
            return PRIM[name][1] * n
        if kind == "enum":
            return PRIM[self.api.enum_base(name)][1] * n
        if kind == "struct":
            return self.fields_size(fields_of(self.api.types[name])) * n
        if kind == "union":
            return max(self.wire_size(f["type"]) for f in fields_of(self.api.unions[name])) * n
        die("size of %s" % tname)

    def fields_size(self, fields):
        s = 0
        for f in fields:
            if f["type"] == "string":
                s += f["arr"] if f["arr"] else 4
            elif f["count"] is not None or f["arr"] == 0:
                s += 0
            else:
                s += self.wire_size(f["type"]) * (f["arr"] or 1)
        return s

    def variable(self, fields):
        for f in fields:
            if f["type"] == "string" and not f["arr"]:
                return True
            if f["count"] is not None or f["arr"] == 0:
                return True
            kind, name, _ = self.api.resolve(f["type"])
            if kind == "struct" and self.variable(fields_of(self.api.types[name])):
                return True
        return False

    def owns(self, fields):
        return self.variable(fields)

    def type_owns(self, name):
        return self.owns(fields_of(self.api.types[name]))

    def bytes_only(self, tname):
        kind, name, _ = self.api.resolve(tname)
        if kind == "prim":
            return name == "u8"
        if kind == "union":
            return all(self.bytes_only(f["type"]) for f in fields_of(self.api.unions[name]))
        return False

    # --- C declarations ----------------------------------------------------
    def ctype(self, tname):
        kind, name, dims = self.api.resolve(tname)
        if kind == "prim":
            c = PRIM[name][0]
        elif kind == "enum":
            c = UNSIGNED[self.api.enum_base(name)]
        elif kind == "struct":
            c = "struct vppapi_%s" % name
        elif kind == "union":
            c = "union vppapi_%s" % name
        else:
            die("ctype of %s" % tname)
        return c, "".join("[%d]" % d for d in dims)

    def decl(self, f, indent="    "):
        n = cname(f["name"])
        if f["type"] == "string":
            if f["arr"]:
                return ["%schar %s[%d];" % (indent, n, f["arr"])]
            return ["%suint32_t %s_len; /* bytes in %s, excluding the NUL added on decode */"
                    % (indent, n, n), "%schar *%s; /* %s_len bytes + NUL */" % (indent, n, n)]
        c, dims = self.ctype(f["type"])
        kind, ename, _ = self.api.resolve(f["type"])
        note = " /* enum vppapi_%s */" % ename if kind == "enum" else ""
        if f["count"] is not None:
            return ["%s%s (*%s)%s; /* [%s] elements, allocated on decode */"
                    % (indent, c, n, dims, f["count"]) if dims else
                    "%s%s *%s; /* [%s] elements, allocated on decode */"
                    % (indent, c, n, f["count"])]
        if f["arr"] == 0:
            die("array %s without count field" % f["name"])
        arr = "[%d]" % f["arr"] if f["arr"] else ""
        return ["%s%s %s%s%s;%s" % (indent, c, n, arr, dims, note)]

    # --- codec statements ---------------------------------------------------
    def enc_elem(self, tname, expr, depth):
        """Statements encoding one element `expr` (an lvalue) of tname."""
        kind, name, dims = self.api.resolve(tname)
        if dims:
            if self.bytes_only(tname):
                return ["put_bytes(c, %s, sizeof(%s));" % (expr, expr)]
            i = "i%d" % depth
            inner = tname  # strip one alias level
            sub = self.strip_dim(tname)
            body = self.enc_elem(sub, "%s[%s]" % (expr, i), depth + 1)
            del inner
            return ["for (size_t %s = 0; %s < %d; %s++) {" % (i, i, dims[0], i)] + \
                ["    " + s for s in body] + ["}"]
        if kind == "prim":
            w = PRIM[name][2]
            if w == "bool":
                return ["put_u8(c, %s ? 1 : 0);" % expr]
            if w == "f64":
                return ["put_f64(c, %s);" % expr]
            if PRIM[name][0] == UNSIGNED[w]:
                return ["put_%s(c, %s);" % (w, expr)]
            return ["put_%s(c, (%s)%s);" % (w, UNSIGNED[w], expr)]
        if kind == "enum":
            b = self.api.enum_base(name)
            return ["put_%s(c, %s);" % (b, expr)]
        if kind == "struct":
            return ["enc_%s(c, &%s);" % (name, expr)]
        if kind == "union":
            if not self.bytes_only(tname):
                die("union %s has non-byte members" % name)
            return ["put_bytes(c, &%s, %d);" % (expr, self.wire_size(tname))]
        die("enc %s" % tname)

    def dec_elem(self, tname, expr, depth):
        kind, name, dims = self.api.resolve(tname)
        if dims:
            if self.bytes_only(tname):
                return ["get_bytes(c, %s, sizeof(%s));" % (expr, expr)]
            i = "i%d" % depth
            sub = self.strip_dim(tname)
            body = self.dec_elem(sub, "%s[%s]" % (expr, i), depth + 1)
            return ["for (size_t %s = 0; %s < %d; %s++) {" % (i, i, dims[0], i)] + \
                ["    " + s for s in body] + ["}"]
        if kind == "prim":
            w = PRIM[name][2]
            if w == "bool":
                return ["%s = get_u8(c) != 0;" % expr]
            if w == "f64":
                return ["%s = get_f64(c);" % expr]
            if PRIM[name][0] == UNSIGNED[w]:
                return ["%s = get_%s(c);" % (expr, w)]
            return ["%s = (%s)get_%s(c);" % (expr, PRIM[name][0], w)]
        if kind == "enum":
            return ["%s = get_%s(c);" % (expr, self.api.enum_base(name))]
        if kind == "struct":
            return ["dec_%s(c, &%s);" % (name, expr)]
        if kind == "union":
            return ["get_bytes(c, &%s, %d);" % (expr, self.wire_size(tname))]
        die("dec %s" % tname)

    def strip_dim(self, tname):
        """An alias with a length, one dimension removed: returns a pseudo type."""
        base = tname[len("vl_api_"):-2] if tname.startswith("vl_api_") else tname
        a = self.api.aliases[base]
        return a["type"]

    def enc_field(self, f, v):
        n = cname(f["name"])
        if f["type"] == "string":
            if f["arr"]:
                return ["put_fstr(c, %s->%s, %d);" % (v, n, f["arr"])]
            return ["put_vstr(c, %s->%s, %s->%s_len);" % (v, n, v, n)]
        if f["count"] is not None:
            body = self.enc_elem(f["type"], "%s->%s[i]" % (v, n), 1)
            return ["if (%s->%s > 0 && !%s->%s)" % (v, cname(f["count"]), v, n),
                    "    c->err = -EINVAL;",
                    "for (size_t i = 0; !c->err && i < %s->%s; i++) {" % (v, cname(f["count"]))] + \
                ["    " + s for s in body] + ["}"]
        if f["arr"]:
            if self.bytes_only(f["type"]):
                return ["put_bytes(c, %s->%s, sizeof(%s->%s));" % (v, n, v, n)]
            body = self.enc_elem(f["type"], "%s->%s[i]" % (v, n), 1)
            return ["for (size_t i = 0; i < %d; i++) {" % f["arr"]] + \
                ["    " + s for s in body] + ["}"]
        return self.enc_elem(f["type"], "%s->%s" % (v, n), 1)

    def dec_field(self, f, v):
        n = cname(f["name"])
        if f["type"] == "string":
            if f["arr"]:
                return ["get_fstr(c, %s->%s, %d);" % (v, n, f["arr"])]
            return ["%s->%s = get_vstr(c, &%s->%s_len);" % (v, n, v, n)]
        if f["count"] is not None:
            cnt = "%s->%s" % (v, cname(f["count"]))
            esz = max(1, self.wire_size(f["type"]))
            body = self.dec_elem(f["type"], "%s->%s[i]" % (v, n), 1)
            return ["%s->%s = get_array(c, %s, %d, sizeof(*%s->%s));" % (v, n, cnt, esz, v, n),
                    "for (size_t i = 0; %s->%s && i < %s; i++) {" % (v, n, cnt)] + \
                ["    " + s for s in body] + ["}"]
        if f["arr"]:
            if self.bytes_only(f["type"]):
                return ["get_bytes(c, %s->%s, sizeof(%s->%s));" % (v, n, v, n)]
            body = self.dec_elem(f["type"], "%s->%s[i]" % (v, n), 1)
            return ["for (size_t i = 0; i < %d; i++) {" % f["arr"]] + \
                ["    " + s for s in body] + ["}"]
        return self.dec_elem(f["type"], "%s->%s" % (v, n), 1)

    def free_fields(self, fields, v):
        out = []
        for f in fields:
            n = cname(f["name"])
            if f["type"] == "string" and not f["arr"]:
                out += ["free(%s->%s);" % (v, n), "%s->%s = NULL;" % (v, n),
                        "%s->%s_len = 0;" % (v, n)]
                continue
            kind, name, _ = self.api.resolve(f["type"])
            sub_owns = kind == "struct" and self.type_owns(name)
            if f["count"] is not None:
                if sub_owns:
                    out += ["for (size_t i = 0; %s->%s && i < %s->%s; i++)"
                            % (v, n, v, cname(f["count"])),
                            "    free_%s(&%s->%s[i]);" % (name, v, n)]
                out += ["free(%s->%s);" % (v, n), "%s->%s = NULL;" % (v, n)]
            elif sub_owns:
                if f["arr"]:
                    out += ["for (size_t i = 0; i < %d; i++)" % f["arr"],
                            "    free_%s(&%s->%s[i]);" % (name, v, n)]
                else:
                    out += ["free_%s(&%s->%s);" % (name, v, n)]
        return out


    # --- formatting (the DEBUG wire trail) ----------------------------------
    def fmt_field(self, f, v, key):
        """Statements appending `key=value` for field f of struct pointer v."""
        n = cname(f["name"])
        k = '"%s"' % key
        if f["type"] == "string":
            if f["arr"]:
                return ["fmt_str(c, \"\", %s, %s->%s, strnlen(%s->%s, %d));"
                        % (k, v, n, v, n, f["arr"])]
            return ["fmt_str(c, \"\", %s, %s->%s ? %s->%s : \"\", %s->%s ? %s->%s_len : 0);"
                    % (k, v, n, v, n, v, n, v, n)]
        if f["count"] is not None:
            return ["fmt_count(c, \"\", %s, %s->%s);" % (k, v, cname(f["count"]))]
        if f["type"] in ("vl_api_ip4_address_t", "vl_api_ip6_address_t") and not f["arr"]:
            af = "AF_INET" if "ip4" in f["type"] else "AF_INET6"
            return ["fmt_ip(c, \"\", %s, %s, %s->%s);" % (k, af, v, n)]
        if f["arr"]:
            if self.bytes_only(f["type"]):
                return ["fmt_hex(c, \"\", %s, (const uint8_t *)%s->%s, sizeof(%s->%s));"
                        % (k, v, n, v, n)]
            return ["fmt_count(c, \"\", %s, %d);" % (k, f["arr"])]
        return self.fmt_elem(f["type"], "%s->%s" % (v, n), key)

    def fmt_elem(self, tname, expr, key):
        kind, name, dims = self.api.resolve(tname)
        k = '"%s"' % key
        if dims:
            if self.bytes_only(tname):
                return ["fmt_hex(c, \"\", %s, (const uint8_t *)%s, sizeof(%s));" % (k, expr, expr)]
            return ["fmt_count(c, \"\", %s, %d);" % (k, dims[0])]
        if kind == "prim":
            w = PRIM[name][2]
            if w == "bool":
                return ["fmt_bool(c, \"\", %s, %s);" % (k, expr)]
            if w == "f64":
                return ["fmt_f64(c, \"\", %s, %s);" % (k, expr)]
            if name.startswith("i"):
                return ["fmt_i64(c, \"\", %s, %s);" % (k, expr)]
            return ["fmt_u64(c, \"\", %s, %s);" % (k, expr)]
        if kind == "enum":
            return ["fmt_enum(c, \"\", %s, ename_%s(%s), %s);" % (k, name, expr, expr)]
        if kind == "struct":
            if name == "address":
                return ["fmt_address(c, \"\", %s, %s.af, %s.un.ip6);" % (k, expr, expr)]
            if name == "prefix":
                return ["fmt_prefix(c, \"\", %s, %s.address.af, %s.address.un.ip6, %s.len);"
                        % (k, expr, expr, expr)]
            out = []
            for sf in fields_of(self.api.types[name]):
                sub = dict(sf)
                out += self.fmt_field(sub, "(&%s)" % expr, "%s.%s" % (key, sf["name"]))
            return out
        if kind == "union":
            return ["fmt_hex(c, \"\", %s, (const uint8_t *)&%s, %d);"
                    % (k, expr, self.wire_size(tname))]
        die("fmt %s" % tname)


def enum_short_names(api, name):
    """value -> short lower-case name ("gre4" for LB_API_ENCAP_TYPE_GRE4)."""
    e = api.enums[name]
    items = [(it[0], it[1]) for it in e[1:] if not isinstance(it, dict)]
    real = [n for n, _ in items if "_N_" not in n]
    pre = os.path.commonprefix(real) if len(real) > 1 else ""
    pre = pre[:pre.rfind("_") + 1] if "_" in pre else ""
    out, seen = [], set()
    for n, v in items:
        if "_N_" in n or v in seen:
            continue
        seen.add(v)
        out.append((v, n[len(pre):].lower()))
    return out


def enum_lines(api, name):
    e = api.enums[name]
    base = api.enum_base(name)
    lines = ["/* enum %s: %s on the wire */" % (name, base), "enum vppapi_%s {" % name]
    defines = []
    for item in e[1:]:
        if isinstance(item, dict):
            continue
        cn, val = "VPPAPI_" + item[0].upper(), item[1]
        if val > 0x7fffffff:
            defines.append("#define %s %dU" % (cn, val))
        else:
            lines.append("    %s = %d," % (cn, val))
    lines.append("};")
    return lines + defines


def main():
    if len(sys.argv) != 3:
        die("usage: vppapigen.py JSON_DIR OUT_DIR")
    jdir, odir = sys.argv[1], sys.argv[2]
    api = Api(jdir)
    g = Gen(api)
    msgs = []
    used_files = set()
    for name, crc, fixed in WANTED:
        if name not in api.msgs:
            die("message %s not found in %s" % (name, jdir))
        d, fn = api.msgs[name]
        got = d[-1].get("crc") if isinstance(d[-1], dict) else None
        if got != crc:
            die("%s: CRC %s in %s, expected %s (CRCS.txt)" % (name, got, fn, crc))
        used_files.add(fn)
        fields = fields_of(d)
        if fields[0]["name"] != "_vl_msg_id" or fields[0]["type"] != "u16":
            die("%s: first field is not u16 _vl_msg_id" % name)
        for f in fields:
            if f["type"] != "string":
                g.need(f["type"])
        msgs.append((name, crc, fixed, fn, fields))
    for e in EXTRA_ENUMS:
        g.need("vl_api_%s_t" % e)
    # files whose types are used count too
    h, c = [], []
    src = ["%s (version %s, vl_api_version %s)" % f for f in api.files]
    banner = ["/* GENERATED by tools/vppapigen.py (make vpp-binapi) - do not edit.",
              " *",
              " * Source: VPP API JSON files"] + [" *   " + s for s in src] + [
              " * Messages: the %d of shared/vpp/CRCS.txt (CRCs checked by the generator)."
              % len(msgs),
              " *",
              " * Structs are in host byte order; encode/decode produce/consume VPP's packed",
              " * big-endian wire layout of the message body (without the 16-byte socket",
              " * header, see src/vpp/wire.h). Rules: see src/vpp/README.md.",
              " */"]
    h += banner + ["#ifndef MAGLEV_VPP_GEN_VPP_MSGS_H", "#define MAGLEV_VPP_GEN_VPP_MSGS_H", "",
                   "#include <stdbool.h>", "#include <stddef.h>", "#include <stdint.h>", ""]
    # enums first (they do not depend on anything)
    for kind, name in g.order:
        if kind == "enum":
            h += enum_lines(api, name) + [""]
    # also emit enums named by messages' documentation that matter to callers
    for kind, name in g.order:
        if kind == "union":
            h.append("/* union %s: %d bytes on the wire, copied raw */"
                     % (name, g.wire_size("vl_api_%s_t" % name)))
            h.append("union vppapi_%s {" % name)
            for f in fields_of(api.unions[name]):
                h += g.decl(f)
            h += ["};", ""]
        elif kind == "struct":
            fs = fields_of(api.types[name])
            sz = g.fields_size(fs)
            var = " (+ variable part)" if g.variable(fs) else ""
            h.append("/* type %s: %d bytes on the wire%s */" % (name, sz, var))
            h.append("struct vppapi_%s {" % name)
            for f in fs:
                h += g.decl(f)
            h += ["};", ""]
    # message index enum
    h += ["/* Index of each message in vppmsg_table[]. */", "enum vppmsg_index {"]
    for name, _, _, _, _ in msgs:
        h.append("    VPPMSG_IDX_%s," % name.upper())
    h += ["    VPPMSG_N_MSGS", "};", ""]
    h += ["/* One row per message: what the connect-time CRC check and generic code need.",
          " * encode/decode/free take a pointer to the message's struct; free is NULL",
          " * for messages that never own memory. */",
          "struct vppmsg_desc {",
          "    const char *name;     /* \"lb_conf\" */",
          "    const char *name_crc; /* \"lb_conf_56cd3261\", as in the message table */",
          "    const char *api_file; /* \"lb.api.json\" */",
          "    uint32_t crc;",
          "    uint16_t fixed_id;    /* memclnt's compiled-in ID, 0 = look it up */",
          "    bool variable;        /* has a variable-length part */",
          "    uint32_t min_size;    /* wire size (fixed messages) or its fixed part */",
          "    size_t struct_size;",
          "    int (*encode)(const void *m, uint8_t *buf, size_t len);",
          "    int (*decode)(const uint8_t *buf, size_t len, void *out);",
          "    void (*free)(void *m);",
          "    /* \"key=value ...\" of the fields (not msg_id, client_index, context)",
          "     * into buf, always terminated; returns the untruncated length. */",
          "    size_t (*format)(const void *m, char *buf, size_t len);",
          "};", "",
          "extern const struct vppmsg_desc vppmsg_table[VPPMSG_N_MSGS];", "",
          "/* Per message X (msg_id is the wire's _vl_msg_id; the caller sets it from",
          " * the message table, or VPPMSG_X_FIXED_ID for memclnt's fixed IDs):",
          " *   vppmsg_X_init(m)    zero everything, then apply the .api defaults",
          " *                       (protocol 255, weight 100, new_flows_table_length",
          " *                       1024, lb_conf's 0xffffffff \"keep\" values).",
          " *   vppmsg_X_encode(m, buf, len)  bytes written; -ENOSPC if len is short;",
          " *                       -EINVAL for a field VPP must never get as 0",
          " *                       (new_flows_table_length, sticky_buckets_per_core),",
          " *                       a VLA count or string length without storage.",
          " *   vppmsg_X_decode(buf, len, out)  0, -EBADMSG (short, trailing bytes, a",
          " *                       count or length past the end) or -ENOMEM; out is",
          " *                       written only on success. The body must be exactly",
          " *                       as long as the layout says (see src/vpp/README.md).",
          " *   vppmsg_X_size(m)    what encode would return; 0 if m cannot be encoded.",
          " *   vppmsg_X_free(m)    only for messages with a variable part: frees what",
          " *                       decode allocated (VLAs, variable strings). NULL-safe.",
          " *                       Do not call it on a struct whose pointers you set.",
          " *   vppmsg_X_format(m, buf, len)  \"key=value ...\" for logs (addresses and",
          " *                       prefixes as text, enums by name, nested fields as",
          " *                       a.b, variable arrays as their count); snprintf-like. */",
          ""]
    for name, crc, fixed, fn, fields in msgs:
        sz = g.fields_size(fields)
        var = g.variable(fields)
        up = name.upper()
        h.append("/* %s (%s, crc %s%s): %s%d bytes */" % (
            name, fn, crc, ", fixed id %d" % fixed if fixed else "",
            "variable, fixed part " if var else "", sz))
        h.append("#define VPPMSG_%s_NAME_CRC \"%s_%s\"" % (up, name, crc[2:]))
        h.append("#define VPPMSG_%s_CRC %sU" % (up, crc))
        h.append("#define VPPMSG_%s_SIZE %dU" % (up, sz))
        if fixed:
            h.append("#define VPPMSG_%s_FIXED_ID %d" % (up, fixed))
        h.append("struct vppmsg_%s {" % name)
        for f in fields:
            if f["name"] == "_vl_msg_id":
                h.append("    uint16_t msg_id; /* _vl_msg_id */")
                continue
            h += g.decl(f)
        h += ["};"]
        h.append("void vppmsg_%s_init(struct vppmsg_%s *m);" % (name, name))
        h.append("int vppmsg_%s_encode(const struct vppmsg_%s *m, uint8_t *buf, size_t len);"
                 % (name, name))
        h.append("int vppmsg_%s_decode(const uint8_t *buf, size_t len, struct vppmsg_%s *out);"
                 % (name, name))
        h.append("size_t vppmsg_%s_size(const struct vppmsg_%s *m);" % (name, name))
        h.append("size_t vppmsg_%s_format(const struct vppmsg_%s *m, char *buf, size_t len);"
                 % (name, name))
        if g.owns(fields):
            h.append("void vppmsg_%s_free(struct vppmsg_%s *m);" % (name, name))
        h.append("")
    h += ["#endif", ""]

    # ---------------------------------------------------------------- .c
    c += banner + ["#include \"vpp/gen/vpp_msgs.h\"", "",
                   "#include <errno.h>", "#include <limits.h>", "#include <stdlib.h>",
                   "#include <string.h>", "", "#include \"vpp/codec_rt.h\"", ""]
    for kind, name in g.order:
        if kind == "union":
            c.append("_Static_assert(sizeof(union vppapi_%s) == %d, \"union %s is raw bytes\");"
                     % (name, g.wire_size("vl_api_%s_t" % name), name))
    c.append("")
    for kind, name in g.order:
        if kind != "enum":
            continue
        c += ["__attribute__((unused)) static const char *ename_%s(uint64_t v)" % name, "{",
              "    switch (v) {"]
        for v, sn in enum_short_names(api, name):
            c += ["    case %dU:" % v, "        return \"%s\";" % sn]
        c += ["    default:", "        return NULL;", "    }", "}", ""]
    for kind, name in g.order:
        if kind != "struct":
            continue
        fs = fields_of(api.types[name])
        if g.type_owns(name):
            c.append("static void free_%s(struct vppapi_%s *v)" % (name, name))
            c.append("{")
            c += ["    " + s for s in g.free_fields(fs, "v")]
            c += ["}", ""]
        c.append("static void enc_%s(struct wcur *c, const struct vppapi_%s *v)" % (name, name))
        c.append("{")
        for f in fs:
            c += ["    " + s for s in g.enc_field(f, "v")]
        c += ["}", ""]
        c.append("static void dec_%s(struct rcur *c, struct vppapi_%s *v)" % (name, name))
        c.append("{")
        for f in fs:
            c += ["    " + s for s in g.dec_field(f, "v")]
        c += ["}", ""]
    for name, crc, fixed, fn, fields in msgs:
        S = "struct vppmsg_%s" % name
        owns = g.owns(fields)
        # init
        c += ["void vppmsg_%s_init(%s *m)" % (name, S), "{", "    memset(m, 0, sizeof(*m));"]
        for f in fields:
            if "default" in f["opts"] and f["type"] != "string":
                c.append("    m->%s = %s;" % (cname(f["name"]), fmt_default(f["opts"]["default"])))
        c += ["}", ""]
        if owns:
            c += ["void vppmsg_%s_free(%s *m)" % (name, S), "{", "    if (!m)", "        return;"]
            c += ["    " + s for s in g.free_fields(fields, "m")]
            c += ["}", ""]
        # body encoder
        c += ["static void enc_msg_%s(struct wcur *c, const %s *m)" % (name, S), "{"]
        for f in fields:
            if f["name"] == "_vl_msg_id":
                c.append("    put_u16(c, m->msg_id);")
                continue
            if (name, f["name"]) in NONZERO:
                c += ["    if (m->%s == 0)" % cname(f["name"]), "        c->err = -EINVAL;"]
            c += ["    " + s for s in g.enc_field(f, "m")]
        c += ["}", ""]
        c += ["int vppmsg_%s_encode(const %s *m, uint8_t *buf, size_t len)" % (name, S), "{",
              "    struct wcur c = { buf, len, 0, 0 };",
              "    enc_msg_%s(&c, m);" % name,
              "    return wcur_result(&c);", "}", ""]
        c += ["size_t vppmsg_%s_size(const %s *m)" % (name, S), "{",
              "    struct wcur c = { NULL, SIZE_MAX, 0, 0 };",
              "    enc_msg_%s(&c, m);" % name,
              "    return c.err ? 0 : c.off;", "}", ""]
        c += ["int vppmsg_%s_decode(const uint8_t *buf, size_t len, %s *out)" % (name, S), "{",
              "    %s tmp;" % S,
              "    struct rcur cur = { buf, len, 0, 0 };",
              "    struct rcur *c = &cur;",
              "    %s *v = &tmp;" % S,
              "    memset(&tmp, 0, sizeof(tmp));"]
        for f in fields:
            if f["name"] == "_vl_msg_id":
                c.append("    v->msg_id = get_u16(c);")
                continue
            c += ["    " + s for s in g.dec_field(f, "v")]
        c += ["    if (!c->err && c->off != len)",
              "        c->err = -EBADMSG; /* trailing bytes: see README (exact-length rule) */",
              "    if (c->err) {"]
        c += ["        vppmsg_%s_free(&tmp);" % name] if owns else []
        c += ["        return c->err;", "    }", "    *out = tmp;", "    return 0;", "}", ""]
        # format
        c += ["size_t vppmsg_%s_format(const %s *m, char *buf, size_t len)" % (name, S), "{",
              "    struct fcur cur = { buf, len, 0 };",
              "    struct fcur *c = &cur;"]
        for f in fields:
            if f["name"] in ("_vl_msg_id", "client_index", "context"):
                continue
            c += ["    " + s for s in g.fmt_field(f, "m", f["name"])]
        c += ["    return fcur_result(c);", "}", ""]
        # generic wrappers
        c += ["static size_t fmt_any_%s(const void *m, char *buf, size_t len)" % name, "{",
              "    return vppmsg_%s_format(m, buf, len);" % name, "}", ""]
        c += ["static int enc_any_%s(const void *m, uint8_t *buf, size_t len)" % name, "{",
              "    return vppmsg_%s_encode(m, buf, len);" % name, "}", "",
              "static int dec_any_%s(const uint8_t *buf, size_t len, void *out)" % name, "{",
              "    return vppmsg_%s_decode(buf, len, out);" % name, "}", ""]
        if owns:
            c += ["static void free_any_%s(void *m)" % name, "{",
                  "    vppmsg_%s_free(m);" % name, "}", ""]
    c += ["const struct vppmsg_desc vppmsg_table[VPPMSG_N_MSGS] = {"]
    for name, crc, fixed, fn, fields in msgs:
        owns = g.owns(fields)
        c += ["    [VPPMSG_IDX_%s] = {" % name.upper(),
              "        .name = \"%s\"," % name,
              "        .name_crc = \"%s_%s\"," % (name, crc[2:]),
              "        .api_file = \"%s\"," % fn,
              "        .crc = %sU," % crc,
              "        .fixed_id = %d," % fixed,
              "        .variable = %s," % ("true" if g.variable(fields) else "false"),
              "        .min_size = %d," % g.fields_size(fields),
              "        .struct_size = sizeof(struct vppmsg_%s)," % name,
              "        .encode = enc_any_%s," % name,
              "        .decode = dec_any_%s," % name,
              "        .free = %s," % ("free_any_%s" % name if owns else "NULL"),
              "        .format = fmt_any_%s," % name,
              "    },"]
    c += ["};", ""]
    os.makedirs(odir, exist_ok=True)
    with open(os.path.join(odir, "vpp_msgs.h"), "w") as f:
        f.write("\n".join(h))
    with open(os.path.join(odir, "vpp_msgs.c"), "w") as f:
        f.write("\n".join(c))


def fmt_default(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return "%dU" % v if v > 0x7fffffff else "%d" % v
    die("unsupported default %r" % v)



if __name__ == "__main__":
    main()
