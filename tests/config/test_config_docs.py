#!/usr/bin/python3
"""The config keys of maglev.yaml(5), docs/config-guide.md and the loader agree.

Three sets of key paths are compared, and any key missing from one of them
fails the test:

  man     docs/maglev.yaml.5: every ".TP" entry of a block section (HEALTHCHECKER,
          HEALTHCHECKS, ...) whose tag (".B" or ".BI") is the key's full path,
          e.g. "healthchecks. NAME .params.path"; the entry's first line is
          "Type: T." and "Default: D." or "Required.".
  guide   docs/config-guide.md: the "| key | type | default | rule |" tables
          under a "## `path`" heading (a later table of a section belongs to
          the key its lead-in paragraph names in backticks), plus the
          containers their paths imply.
  loader  src/config/*.c: the key tables (NULL-terminated string arrays given
          to config_walk_map); where each one applies is found by running
          maglevd --check on a probe config with an unknown key in every
          mapping, whose error lists the keys allowed there and the path.

Paths are relative to the top-level "maglev:" and written with "*" for a
name chosen by the operator and "[]" for a list item:
healthchecks.*.params.path, frontends.*.pools[].backends.*.weight.

Also: types agree between man and guide, "required" agrees, defaults agree
(the guide's backticked defaults, and the defaults maglevd --check --dump
fills in), every key the loader reads by name is in a key table, the
EXAMPLE of the man page passes maglevd --check, and the page renders
without groff/man warnings.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT_KEY = "maglev"
TYPES = {"string", "integer", "boolean", "duration", "address", "name", "list", "mapping"}
SEG_RE = r"(?:[a-z][a-z0-9-]*(?:\[\])?|\*)"
PATH_RE = re.compile(rf"^{SEG_RE}(?:\.{SEG_RE})*$")


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, msg):
        item = f"{where}: {msg}"
        if item not in self.items:
            self.items.append(item)


def valid_key_path(p):
    return bool(PATH_RE.match(p)) and not p.endswith("*") and not p.endswith("[]")


def containers(path):
    """The key paths a key path implies: 'a.*.b[].c' -> a, a.*.b."""
    segs = path.split(".")
    out = []
    for i in range(1, len(segs)):
        s = segs[i - 1]
        if s != "*":
            out.append(".".join(segs[: i - 1] + [s.removesuffix("[]")]))
    return out


def parent(path):
    return path.rsplit(".", 1)[0] if "." in path else ""


# --- troff -------------------------------------------------------------------

TROFF_CHARS = {"dq": '"', "->": "->", "*m": "\u00b5", "lq": '"', "rq": '"', "em": "--",
               "en": "-", "aq": "'", "bu": "*", "mu": "x"}


def troff_text(s):
    """Plain text of a troff text fragment (fonts dropped, escapes resolved)."""
    s = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", s)
    s = re.sub(r"\\\((..)", lambda m: TROFF_CHARS.get(m.group(1), ""), s)
    s = re.sub(r"\\\[([^\]]*)\]", lambda m: TROFF_CHARS.get(m.group(1), ""), s)
    s = s.replace("\\-", "-").replace("\\&", "").replace("\\%", "").replace("\\ ", " ")
    return s.replace("\\e", "\\")


def troff_args(s):
    """Arguments of a macro line (after the macro name), troff quoting."""
    args, i = [], 0
    while i < len(s):
        if s[i] in " \t":
            i += 1
            continue
        if s[i] == '"':
            j, cur = i + 1, ""
            while j < len(s):
                if s[j] == '"' and j + 1 < len(s) and s[j + 1] == '"':
                    cur, j = cur + '"', j + 2
                elif s[j] == '"':
                    j += 1
                    break
                else:
                    cur, j = cur + s[j], j + 1
            args.append(cur)
            i = j
        else:
            j = i
            while j < len(s) and s[j] not in " \t":
                j += 1
            args.append(s[i:j])
            i = j
    return args


def troff_line_text(line):
    """Text of a line: a font macro's arguments joined, or the text itself."""
    m = re.match(r"^\.(B|I|R|BI|IB|BR|RB|IR|RI|SM|SB)(?:\s+(.*))?$", line)
    if m:
        return troff_text("".join(troff_args(m.group(2) or "")))
    if line.startswith("."):
        return None
    return troff_text(line)


def parse_man(path, blocks, pr):
    """{key: {type, required, default, line}} from the man page."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    where = os.path.basename(path)
    keys, section, i = {}, None, 0
    sections = []
    while i < len(lines):
        ln = lines[i]
        if ln.startswith(".SH"):
            section = " ".join(troff_args(ln[3:]))
            sections.append(section)
        elif ln.strip() == ".TP" and i + 1 < len(lines):
            tag_line = lines[i + 1]
            is_block = section is not None and section.lower() in blocks
            m = re.match(r"^\.(B|BI)\s+(.*)$", tag_line)
            tag = troff_text("".join(troff_args(m.group(2)))) if m else None
            looks_key = tag is not None and tag.split(".")[0] in blocks
            if is_block or looks_key:
                lno = i + 2
                if tag is None:
                    pr.add(f"{where}:{lno}", f"an entry of section {section} must be tagged "
                           f"with .B or .BI and the key's full path, not {tag_line!r}")
                    i += 1
                    continue
                segs = [("*" if re.fullmatch(r"[A-Z][A-Z0-9_]*", s) else s)
                        for s in tag.split(".")]
                key = ".".join(segs)
                if not valid_key_path(key):
                    pr.add(f"{where}:{lno}", f"{tag!r} is not a key path")
                elif not is_block or segs[0] != section.lower():
                    pr.add(f"{where}:{lno}", f"key {key} is in section {section}; put it under "
                           f".SH {segs[0].upper()}")
                elif key in keys:
                    pr.add(f"{where}:{lno}", f"key {key} documented twice "
                           f"(first at line {keys[key]['line']})")
                else:
                    body, j = [], i + 2
                    while j < len(lines) and not re.match(r"^\.(br|TP|SH|SS|PP|P|LP)\b",
                                                          lines[j]):
                        t = troff_line_text(lines[j])
                        if t is not None:
                            body.append(t)
                        j += 1
                    head = " ".join(body).strip()
                    hm = re.match(r"^Type: ([a-z]+)\. (?:(Required)\.|Default: (.+)\.)$", head)
                    if not hm or (j < len(lines) and not lines[j].startswith(".br")):
                        pr.add(f"{where}:{lno}", f"{key}: the entry must start with "
                               f"'Type: T.' and 'Default: D.' or 'Required.', then .br; "
                               f"got {head!r}")
                        keys[key] = {"type": None, "required": None, "default": None,
                                     "line": lno}
                    else:
                        if hm.group(1) not in TYPES:
                            pr.add(f"{where}:{lno}", f"{key}: unknown type {hm.group(1)!r} "
                                   f"(one of {', '.join(sorted(TYPES))})")
                        keys[key] = {"type": hm.group(1), "required": bool(hm.group(2)),
                                     "default": hm.group(3), "line": lno}
        i += 1
    for want in ("NAME", "SYNOPSIS", "DESCRIPTION", "RELOAD", "VALIDATION", "EXAMPLE",
                 "FILES", "SEE ALSO"):
        if want not in sections:
            pr.add(where, f"no section .SH {want}")
    for b in sorted(blocks):
        if b.upper() not in sections:
            pr.add(where, f"no section .SH {b.upper()} for the block {b}")
    return keys


def man_example(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, state = [], 0
    for ln in lines:
        if state == 0 and ln.startswith(".SH") and troff_args(ln[3:]) == ["EXAMPLE"]:
            state = 1
        elif state == 1 and ln.startswith(".SH"):
            break
        elif state == 1 and ln.strip() == ".nf":
            state = 2
        elif state == 2 and ln.strip() == ".fi":
            break
        elif state == 2:
            out.append(troff_text(ln))
    return "\n".join(out) + "\n" if out else None


# --- config-guide.md ---------------------------------------------------------

def md_cells(row):
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)]


def md_path(s):
    return re.sub(r"<[^>]*>", "*", s)


def parse_guide(path, pr):
    """({key: {type, required, default, tokens, line}}, implied key set)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    where = os.path.basename(path)
    keys, implied = {}, set()
    sec_path, sec_first, fence, i = None, None, False, 0
    while i < len(lines):
        ln = lines[i]
        if ln.lstrip().startswith("```"):
            fence = not fence
            i += 1
            continue
        if fence:
            i += 1
            continue
        hm = re.match(r"^(#+)\s+(.*?)\s*$", ln)
        if hm and len(hm.group(1)) <= 2:
            pm = re.fullmatch(r"`([^`]+)`", hm.group(2))
            sec_path = md_path(pm.group(1)) if pm else None
            sec_first = None
            if sec_path is not None:
                if not re.fullmatch(rf"{SEG_RE}(\.{SEG_RE})*", sec_path):
                    pr.add(f"{where}:{i + 1}", f"heading {hm.group(2)} is not a key path")
                    sec_path = None
                else:
                    if not sec_path.endswith("*"):
                        implied.add(sec_path)
                    implied.update(containers(sec_path + ".x"))
            i += 1
            continue
        if ln.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|?\s*$",
                                                                     lines[i + 1]):
            header = [c.lower() for c in md_cells(ln)]
            start = i
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append((i + 1, md_cells(lines[i])))
                i += 1
            if header != ["key", "type", "default", "rule"]:
                if "key" in header:
                    pr.add(f"{where}:{start + 1}", f"a key table needs the columns "
                           f"key | type | default | rule, not {' | '.join(header)}")
                continue
            if sec_path is None:
                pr.add(f"{where}:{start + 1}", "a key table outside a \"## `path`\" section")
                continue
            if sec_first is None:
                prefix = sec_path
            else:
                lead, j = [], start - 1
                while j >= 0 and not lines[j].strip():
                    j -= 1
                while (j >= 0 and lines[j].strip()
                       and not lines[j].startswith(("|", "#", "```"))):
                    lead.insert(0, lines[j])
                    j -= 1
                prefix = None
                for tok in re.findall(r"`([^`]+)`", " ".join(lead)):
                    k = f"{sec_path}.{tok}"
                    if k in sec_first:
                        prefix = k + ("[]" if keys[k]["type"] == "list" else "")
                        break
                if prefix is None:
                    pr.add(f"{where}:{start + 1}", "cannot tell whose keys this table lists: "
                           "its lead-in paragraph must name, in backticks, a key of the "
                           f"section's first table ({', '.join(sorted(sec_first))})")
                    continue
            table = set()
            for lno, cells in rows:
                if len(cells) != 4:
                    pr.add(f"{where}:{lno}", f"a key table row needs 4 cells, got {len(cells)}")
                    continue
                km = re.fullmatch(r"`([^`]+)`", cells[0])
                if not km:
                    pr.add(f"{where}:{lno}", f"the key cell must be one `key`, not {cells[0]!r}")
                    continue
                key = f"{prefix}.{md_path(km.group(1))}"
                if not valid_key_path(key):
                    pr.add(f"{where}:{lno}", f"{key!r} is not a key path")
                    continue
                if key in keys:
                    pr.add(f"{where}:{lno}", f"key {key} documented twice "
                           f"(first at line {keys[key]['line']})")
                    continue
                typ = cells[1].strip("`").strip()
                if typ not in TYPES:
                    pr.add(f"{where}:{lno}", f"{key}: unknown type {typ!r} "
                           f"(one of {', '.join(sorted(TYPES))})")
                default = cells[2]
                keys[key] = {"type": typ, "required": "required" in default.lower(),
                             "default": default, "tokens": re.findall(r"`([^`]+)`", default),
                             "line": lno}
                implied.update(containers(key))
                table.add(key)
            if sec_first is None:
                sec_first = table
            continue
        i += 1
    return keys, implied - set(keys)


# --- the loader ----------------------------------------------------------------

def strip_c_comments(s):
    s = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), s, flags=re.S)
    return re.sub(r"//[^\n]*", "", s)


def loader_static(src_dir, pr):
    """({table name: (file, [keys])}, {literal key read: file})."""
    tables, used, reads = {}, {}, {}
    for fn in sorted(os.listdir(src_dir)):
        if not fn.endswith(".c"):
            continue
        with open(os.path.join(src_dir, fn), encoding="utf-8") as f:
            text = strip_c_comments(f.read())
        for m in re.finditer(r"static\s+const\s+char\s*\*\s*const\s+(\w+)\s*\[\s*\]\s*=\s*"
                             r"\{(.*?)\}\s*;", text, re.S):
            items = [x.strip() for x in m.group(2).split(",") if x.strip()]
            if items and items[-1] == "NULL":
                items = items[:-1]
            keys = [x[1:-1] for x in items if re.fullmatch(r'"[^"]*"', x)]
            if len(keys) == len(items):
                tables.setdefault(m.group(1), []).append((fn, keys))
        for m in re.finditer(r"\bconfig_walk_map\s*\(\s*c\s*,([^;]*?)\)\s*[;)&|]", text, re.S):
            last = m.group(1).rsplit(",", 1)[-1].strip()
            if last != "NULL":
                used.setdefault(last, set()).add(fn)
        # a key read by name: config_walk_*(..., path, "key", ...), yt_map_get(n, "key"), ...
        # (config_walk_name's string says what a name is, not a key)
        text = re.sub(r"\bconfig_walk_name\s*\([^;]*\)", "", text)
        for pat in (r'\bpath\s*,\s*"([a-z][a-z0-9-]*)"\s*[,)]',
                    r'\b(?:yt_map_get|yt_map_key|config_walk_unset|config_walk_req_node)'
                    r'\s*\(\s*\w+\s*,\s*"([^"]*)"'):
            for m in re.finditer(pat, text):
                reads.setdefault(m.group(1), fn)
    out = {}
    for name, files in sorted(used.items()):
        defs = tables.get(name, [])
        if len(defs) != 1:
            pr.add(f"src/config/{','.join(sorted(files))}",
                   f"key table {name} given to config_walk_map has {len(defs)} definitions "
                   "the test can read (want one static const char *const NAME[] = {...})")
            continue
        out[name] = defs[0]
    for name, defs in tables.items():
        if name.endswith("_keys") and name not in used:
            pr.add(f"src/config/{defs[0][0]}", f"key table {name} is not given to "
                   "config_walk_map; the test cannot place it")
    return out, reads


PROBE_KEY = "zz-probe-key"
PROBE_NAMES = {"probe-hc", "probe-be", "probe-fe"}
PROBE = f"""\
{PROBE_KEY}: 1
maglev:
  {PROBE_KEY}: 1
  healthchecker: {{ {PROBE_KEY}: 1 }}
  healthchecks:
    probe-hc:
      type: http
      {PROBE_KEY}: 1
      params: {{ {PROBE_KEY}: 1 }}
      damping: {{ {PROBE_KEY}: 1 }}
  backends:
    probe-be: {{ address: 192.0.2.10, {PROBE_KEY}: 1 }}
  frontends:
    probe-fe:
      address: 198.51.100.1
      {PROBE_KEY}: 1
      pools:
        - name: p
          {PROBE_KEY}: 1
          backends:
            probe-be: {{ {PROBE_KEY}: 1 }}
  vpp:
    {PROBE_KEY}: 1
    lb: {{ {PROBE_KEY}: 1 }}
"""

# Defaults: a config that sets as little as possible; maglevd --check --dump
# fills in the rest.
MINIMAL = """\
maglev:
  healthchecks:
    web: { type: http }
    tls: { type: https }
    dns: { type: tcp, port: 53 }
    ping: { type: icmp }
  backends:
    b1: { address: 192.0.2.10, healthcheck: web }
  frontends:
    f1:
      address: 198.51.100.1
      pools:
        - name: p
          backends:
            b1:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1, ipv6-src-address: "2001:db8::1" }
"""


def run_check(maglevd, text, *extra):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as t:
        t.write(text)
    env = dict(os.environ)
    env.pop("MAGLEV_CONFIG", None)
    try:
        p = subprocess.run([maglevd, "--check", *extra, "--config", t.name],
                           capture_output=True, text=True, env=env, timeout=60)
    finally:
        os.unlink(t.name)
    return p.returncode, p.stdout, p.stderr


def loader_runtime(maglevd, pr):
    """{normalised path of a mapping or None for the root: [keys allowed]}."""
    rc, _, err = run_check(maglevd, PROBE)
    found = {}
    for ln in err.splitlines():
        m = re.match(rf'^[^:]*:\d+:\d+: (?:(.*?): )?unknown key "{PROBE_KEY}"; '
                     r"expected one of: (.*)$", ln)
        if not m:
            continue
        raw = m.group(1) or ""
        segs = [("*" if s in PROBE_NAMES else s) for s in re.sub(r"\[\d+\]", "[]",
                                                                   raw).split(".")]
        path = ".".join(segs)
        path = None if raw == "" else ("" if path == ROOT_KEY else path)
        found[path] = [k.strip() for k in m.group(2).split(",")]
    if rc != 1 or len(found) != PROBE.count(PROBE_KEY):
        pr.add("maglevd --check (probe)", f"exit {rc}, {len(found)} unknown-key reports for "
               f"{PROBE.count(PROBE_KEY)} probes; stderr:\n{err}")
    return found


def loader_defaults(maglevd, pr):
    """[(key path, dumped default value, {sibling key: value})] for keys MINIMAL leaves out."""
    rc, out, err = run_check(maglevd, MINIMAL, "--dump")
    if rc != 0:
        pr.add("maglevd --check --dump (defaults)", f"exit {rc}:\n{err}")
        return []
    given = yaml.safe_load(MINIMAL)[ROOT_KEY]
    dumped = yaml.safe_load(out)[ROOT_KEY]
    res = []
    named = {"healthchecks", "backends", "frontends"}

    def walk(d, g, path):
        g = g if isinstance(g, dict) else {}
        if path in named or path.endswith("pools[].backends"):
            for name, v in d.items():  # names chosen by the operator
                walk(v or {}, g.get(name), f"{path}.*")
            return
        for k, v in d.items():
            kp = f"{path}.{k}" if path else k
            if isinstance(v, dict):
                walk(v, g.get(k), kp)
            elif k == "pools" and isinstance(v, list):
                for item, gitem in zip(v, g.get(k) or []):
                    walk(item, gitem, f"{kp}[]")
            elif k not in g:
                res.append((kp, v, {s: x for s, x in d.items()
                                    if not isinstance(x, (dict, list))}))

    walk(dumped, given, "")
    return res


# --- checks ---------------------------------------------------------------------

def value_tokens(text):
    return {t for t in re.split(r"[\s,;()\[\]\"]+", text.rstrip(".")) if t}


def show(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(here)))
    ap.add_argument("--maglevd", help="default: ROOT/build/src/daemon/maglevd")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the three key sets")
    a = ap.parse_args()
    maglevd = a.maglevd or os.path.join(a.root, "build", "src", "daemon", "maglevd")
    man_path = os.path.join(a.root, "docs", "maglev.yaml.5")
    guide_path = os.path.join(a.root, "docs", "config-guide.md")
    pr = Problems()

    # the loader: static key tables, placed by the probe
    tables, reads = loader_static(os.path.join(a.root, "src", "config"), pr)
    runtime = loader_runtime(maglevd, pr)
    loader, origin = set(), {}
    unplaced = dict(tables)
    for path, keys in runtime.items():
        # maglevd's answer is the truth; the table it comes from names the origin
        match = [n for n, (_, k) in unplaced.items() if k == keys]
        if match:
            name = match[0]
        else:
            name = max(tables, key=lambda n: len(set(tables[n][1]) & set(keys)), default="?")
            pr.add("src/config", f"maglevd accepts {', '.join(keys)} at "
                   f"{'(top level)' if path is None else path or ROOT_KEY} but no key table in "
                   f"src/config/*.c lists exactly these keys (closest: {name}; is "
                   "maglevd up to date?)")
        fn = unplaced.pop(name, tables.get(name, ("?", [])))[0]
        if path is None:
            if keys != [ROOT_KEY]:
                pr.add(f"src/config/{fn}", f"{name}: the top level must hold only "
                       f"{ROOT_KEY!r}, got {keys}; teach the docs and this test the new key")
            continue
        for k in keys:
            kp = f"{path}.{k}" if path else k
            loader.add(kp)
            origin[kp] = f"src/config/{fn} {name}"
    for name, (fn, keys) in unplaced.items():
        pr.add(f"src/config/{fn}", f"key table {name} ({', '.join(keys)}) is not reached by "
               f"the probe config of {os.path.basename(__file__)}: add a mapping with "
               f"{PROBE_KEY} where it applies")
    all_table_keys = {k for _, ks in tables.values() for k in ks}
    for k, fn in sorted(reads.items()):
        if k not in all_table_keys:
            pr.add(f"src/config/{fn}", f"the loader reads the key {k!r}, which no key table "
                   "lists (maglevd would reject it as unknown)")
    if len(reads) < 10:
        pr.add("src/config", f"found only {len(reads)} keys read by name; the test's "
               "patterns no longer match the loader")

    blocks = {k for k in loader if "." not in k}
    man = parse_man(man_path, blocks, pr)
    guide, guide_implied = parse_guide(guide_path, pr)
    sets = {"docs/maglev.yaml.5": set(man), "docs/config-guide.md": set(guide) | guide_implied,
            "the loader": loader}

    # the three key sets
    everything = sorted(set().union(*sets.values()))
    if a.verbose:
        print(f"{'key':55} man guide loader")
        for k in everything:
            print(f"{k:55} " + "  ".join(f"{'x' if k in s else '-':>4}" for s in sets.values()))
    for k in everything:
        have = [n for n, s in sets.items() if k in s]
        lack = [n for n, s in sets.items() if k not in s]
        if lack:
            src = origin.get(k) or (f"line {man[k]['line']}" if k in man else
                                    f"line {guide[k]['line']}" if k in guide else "implied")
            pr.add(k, f"in {' and '.join(have)} ({src}) but not in {' nor '.join(lack)}")

    # types, required, defaults: man against guide
    for k in sorted(set(man) & set(guide)):
        m, g = man[k], guide[k]
        if m["type"] is None:
            continue
        if m["type"] != g["type"]:
            pr.add(k, f"type {m['type']} in the man page, {g['type']} in the guide")
        if m["required"] != g["required"]:
            pr.add(k, f"{'required' if m['required'] else 'not required'} in the man page, "
                   f"{'required' if g['required'] else 'not required'} in the guide")
        if m["required"] or g["required"]:
            continue
        mtoks = value_tokens(troff_text(m["default"]))
        for t in g["tokens"]:
            if not value_tokens(t) <= mtoks:
                pr.add(k, f"the guide's default has `{t}`; the man page's default "
                       f"{m['default']!r} does not")
        if g["default"].lower().startswith("none") != m["default"].lower().startswith("none"):
            pr.add(k, f"default {g['default']!r} in the guide, {m['default']!r} in the man page")
    # defaults: man against what the loader fills in
    for k, v, siblings in loader_defaults(maglevd, pr):
        if k not in man or man[k]["default"] is None:
            continue
        mtoks = value_tokens(man[k]["default"])
        want = [show(x) for x in v] if isinstance(v, list) else [show(v)]
        if all(w in mtoks for w in want):
            continue
        if any(s in mtoks and show(x) == show(v) for s, x in siblings.items()):
            continue  # "the value of interval"
        pr.add(k, f"maglevd fills in {show(v)!r}; the man page's default is "
               f"{man[k]['default']!r}")

    # the man page's example is a valid config
    example = man_example(man_path)
    if not example:
        pr.add("docs/maglev.yaml.5", "no .nf/.fi block under .SH EXAMPLE")
    else:
        rc, out, err = run_check(maglevd, example)
        if rc != 0:
            pr.add("docs/maglev.yaml.5 EXAMPLE", f"maglevd --check exits {rc}:\n{err}")

    # it renders without warnings
    if shutil.which("groff"):
        p = subprocess.run(["groff", "-man", "-ww", "-z", man_path], capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0 or p.stderr.strip():
            pr.add("docs/maglev.yaml.5", f"groff -man -ww: exit {p.returncode}\n{p.stderr}")
    else:
        print("SKIP groff -man -ww (groff not installed)")
    if shutil.which("man"):
        p = subprocess.run(["man", "--warnings", "-l", man_path], capture_output=True,
                           text=True, timeout=60, env=dict(os.environ, MANWIDTH="80",
                                                           MAN_KEEP_FORMATTING="0"))
        if p.returncode != 0 or p.stderr.strip():
            pr.add("docs/maglev.yaml.5", f"man --warnings: exit {p.returncode}\n{p.stderr}")
    else:
        print("SKIP man --warnings (man not installed)")

    n = {name: len(s) for name, s in sets.items()}
    if pr.items:
        for it in pr.items:
            print(f"FAIL {it}")
        print(f"{len(pr.items)} problems ({', '.join(f'{v} keys in {k}' for k, v in n.items())})")
        return 1
    print(f"ok   {len(everything)} keys agree: "
          f"{', '.join(f'{v} in {k}' for k, v in n.items())}; "
          f"types and defaults agree; the EXAMPLE passes --check; the page renders cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
