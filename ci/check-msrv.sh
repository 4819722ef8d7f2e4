#!/usr/bin/env bash
# Checks that `rust-version` in the root Cargo.toml ([workspace.package], inherited by every member) is not lower
# than what the workspace needs. ci/test.sh runs it before fmt and clippy; it takes a second or two (one
# `cargo metadata`, one scan of our own .rs files). Exits 1 naming each culprit and the version it needs.
#
# What it checks
#   1. Dependencies: every package in Cargo.lock's resolved graph (`cargo metadata --locked`: normal, build and
#      dev dependencies, every target platform) whose own `rust-version` is higher than a workspace member's.
#      Cargo refuses to build such a package with an older rustc, so this is exact for what the package declares.
#   2. Language features our own code uses (every tracked .rs file, comments and string literals blanked out),
#      from the table below: a rule per feature, its first stable Rust, how it is found. This is a set of
#      patterns, not a compiler: it knows only the features in the table.
#   3. That the lint for std APIs stays on and sees the same version: [workspace.lints.clippy] keeps
#      `incompatible_msrv = "deny"`, clippy.toml keeps `check-incompatible-msrv-in-tests = true` and sets no
#      `msrv` of its own, and no source file allows the lint or overrides `clippy::msrv`. The std APIs
#      themselves are checked by clippy (`incompatible_msrv` flags any std item stable after rust-version),
#      which is ci/test.sh's next step (`cargo clippy --workspace --all-targets -- -D warnings`), not here.
#   4. README.md's toolchain sentence ("Rust X.Y or newer") names the same version.
#   5. packer/container/Dockerfile's `ARG RUST_VERSION` (the toolchain its builder installs) is not older.
#
# What it cannot prove
#   - It never compiles with the declared (older) compiler: CI has one stable toolchain and may download no
#     other. A language feature missing from the table, a std API clippy has no stability data for (trait impls
#     added later, e.g. a new `From` impl, or const-stability), a changed inference or lint, or a compiler bug
#     fixed later all pass here and would still break an old compiler.
#   - A dependency's `rust-version` is its own claim (and absent for some old crates); it is taken as is.
#   - The scan is textual: a let chain hidden in a macro's input or behind a `match` inside an `if` condition
#     can be missed.
#   - It does not ask for the lowest possible version: declaring more than needed passes (with a note).
#
# Language features (first stable version; how they are found in the blanked-out source):
#   1.88  let chains (edition 2024)           `if`/`while` whose condition has a top-level `let` and `&&`
#   1.95  if-let guards on match arms         a match-arm guard (`pat if … =>`) with a top-level `let`
#   1.95  cfg_select! macro                   `cfg_select!`
#   1.88  cfg(true) / cfg(false)              `cfg(true)`, `cfg(false)` (also inside cfg_attr, any, all, not)
#   1.88  naked functions                     `#[unsafe(naked)]`, `naked_asm!`
#   1.89  inferred const generic arguments   `[expr; _]` (array length left to inference)
#   1.85  async closures                      `async |…|`, `async move |…|`
#   1.85  edition 2024                        `edition = "2024"` of a workspace member
#   1.84  resolver 3 (MSRV-aware)             `resolver = "3"` in the root Cargo.toml
#   1.79  inline const blocks                 `const {`
#   1.77  C string literals                   `c"…"`, `cr"…"`
#   1.77  build-script `cargo::` directives   `cargo::` in a build.rs
#
# Usage: ci/check-msrv.sh   (from anywhere; needs cargo, git and python3 >= 3.11 (tomllib; Debian 12 has 3.11);
# no network once the crates are fetched)
set -euo pipefail
cd "$(dirname "$0")/.."

exec python3 - "$@" <<'PY'
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

sys.stdout.reconfigure(line_buffering=True)  # keep stdout and the final stderr line in order
failures = []


def fail(msg):
    failures.append(msg)
    print(f"  FAIL {msg}")


def ver(s):
    parts = [int(p) for p in re.findall(r"\d+", str(s))[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def show(v):
    return f"{v[0]}.{v[1]}" if v[2] == 0 else f"{v[0]}.{v[1]}.{v[2]}"


root_toml = tomllib.loads(Path("Cargo.toml").read_text())
declared_s = root_toml.get("workspace", {}).get("package", {}).get("rust-version")
if not declared_s:
    sys.exit("check-msrv: FAIL: the root Cargo.toml has no [workspace.package] rust-version")
declared = ver(declared_s)
needed = []  # (version, why): the highest is what the workspace needs

got = subprocess.run(["cargo", "metadata", "--format-version", "1", "--locked"], stdout=subprocess.PIPE)
if got.returncode != 0:
    sys.exit("check-msrv: FAIL: `cargo metadata --locked` failed (above); is Cargo.lock up to date?")
meta = json.loads(got.stdout)
pkgs = {p["id"]: p for p in meta["packages"]}
members = [pkgs[i] for i in meta["workspace_members"]]
print(f"check-msrv: rust-version = {show(declared)} (root Cargo.toml); "
      f"toolchain here: {subprocess.run(['rustc', '--version'], stdout=subprocess.PIPE, text=True).stdout.strip()}")

# --- members inherit it --------------------------------------------------------------------------------------
print("members:")
for m in members:
    rv = m.get("rust_version")
    if rv is None or ver(rv) != declared:
        fail(f"{m['name']}: rust-version is {rv!r}, not the workspace's {show(declared)} "
             f"(use `rust-version.workspace = true`)")
    else:
        print(f"  ok   {m['name']} {rv}")

# --- 1. dependencies -----------------------------------------------------------------------------------------
print("dependencies (Cargo.lock's graph, every platform, normal/build/dev):")
member_ids = set(meta["workspace_members"])
parents = {}  # package id -> one package that depends on it (for the chain in the message)
for node in meta["resolve"]["nodes"]:
    for dep in node["deps"]:
        parents.setdefault(dep["pkg"], node["id"])


def chain(pid):
    names, seen = [], set()
    while pid and pid not in seen:
        seen.add(pid)
        p = pkgs[pid]
        names.append(f"{p['name']}@{p['version']}")
        if pid in member_ids:
            break
        pid = parents.get(pid)
    return " <- ".join(names)


deps = [(ver(pkgs[n["id"]]["rust_version"]), n["id"]) for n in meta["resolve"]["nodes"]
        if n["id"] not in member_ids and pkgs[n["id"]].get("rust_version")]
deps.sort(reverse=True)
for v, pid in deps:
    if v > declared:
        fail(f"dependency {chain(pid)} declares rust-version {pkgs[pid]['rust_version']}")
if deps:
    top = deps[0]
    needed.append((top[0], f"dependency {pkgs[top[1]]['name']}@{pkgs[top[1]]['version']}"))
    print(f"  {len(meta['resolve']['nodes']) - len(member_ids)} packages; highest rust-version: "
          + ", ".join(f"{pkgs[p]['name']}@{pkgs[p]['version']} {pkgs[p]['rust_version']}"
                      for _, p in deps[:3]))

# --- 2. language features ------------------------------------------------------------------------------------
print("language features in our own code:")
for m in members:
    edition = m.get("edition")
    if edition == "2024":
        needed.append((ver("1.85"), f"{m['name']}: edition 2024"))
        if declared < ver("1.85"):
            fail(f"{m['name']}: edition 2024 needs Rust 1.85")
        else:
            print(f"  ok   1.85 edition 2024: {m['name']}")
if str(root_toml.get("workspace", {}).get("resolver")) == "3":
    needed.append((ver("1.84"), "Cargo.toml: resolver = \"3\""))
    if declared < ver("1.84"):
        fail("Cargo.toml: resolver = \"3\" needs Rust 1.84")
    else:
        print("  ok   1.84 resolver = \"3\": Cargo.toml")


def blank(src):
    """Source with comments, string, char and byte literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(src)
    token = re.compile(r"""
        (?P<line>//[^\n]*)
      | (?P<block>/\*)
      | (?P<raw>(?:b|c)?r(?P<hashes>\#*)")
      | (?P<str>(?:b|c)?")
      | (?P<char>b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]{1,8}\}|.)|[^\\'\n])')
    """, re.X | re.S)
    prefix_ok = re.compile(r"[A-Za-z0-9_]")

    def spaces(s):
        return re.sub(r"[^\n]", " ", s)

    while i < n:
        mt = token.search(src, i)
        if not mt:
            out.append(src[i:])
            break
        s = mt.start()
        # `br"`, `c"` etc. only when not the tail of an identifier (`attr"` is not a raw string)
        if mt.lastgroup in ("raw", "str", "char") and s > 0 and prefix_ok.match(src[s - 1]):
            out.append(src[i:s + 1])
            i = s + 1
            continue
        out.append(src[i:s])
        if mt.group("line") is not None:
            out.append(spaces(mt.group()))
            i = mt.end()
        elif mt.group("block") is not None:
            depth, j = 1, mt.end()
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(spaces(src[s:j]))
            i = j
        elif mt.group("raw") is not None:
            end = src.find('"' + mt.group("hashes"), mt.end())
            j = n if end < 0 else end + 1 + len(mt.group("hashes"))
            kept = mt.group()[:-1 - len(mt.group("hashes"))]  # the prefix (c/b/r), for the c"…" rule
            out.append(kept + '"' + spaces(src[s + len(kept) + 1:j - 1]) + '"')
            i = j
        elif mt.group("str") is not None:
            j = mt.end()
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            kept = mt.group()[:-1]
            out.append(kept + '"' + spaces(src[mt.end():j]) + '"')
            i = j + 1
        else:  # char literal
            out.append(spaces(mt.group()))
            i = mt.end()
    return "".join(out)


WORD = re.compile(r"\b(if|while)\b")
SCAN = re.compile(r"=>|&&|[(\[{)\]}]|\blet\b|;")


def binary(code, at):
    """Whether the `&&` at `at` is the operator (after an operand), not a double borrow (`= &&x`)."""
    before = code[:at].rstrip()[-1:]
    return before != "" and before not in "=([{,!&|<+-*/%^:;"


def cfg_literals(code):
    """Offsets of `true`/`false` used as a cfg predicate: cfg(…), cfg!(…), the predicate of cfg_attr(…)."""
    for mt in re.finditer(r"\bcfg(_attr)?\s*!?\s*\(", code):
        depth, j = 1, mt.end()
        while j < len(code) and depth:
            ch = code[j]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 1 and mt.group(1):
                break  # cfg_attr: only its first argument is a predicate
            j += 1
        for lit in re.finditer(r"\b(?:true|false)\b", code[mt.end():j]):
            yield mt.end() + lit.start()


def conditions(code):
    """(offset, kind, has_top_let, has_top_andand) for every `if`/`while` condition."""
    for mt in WORD.finditer(code):
        depth, has_let, has_and = 0, False, False
        end_kind = None
        for t in SCAN.finditer(code, mt.end()):
            tok = t.group()
            if tok in "([{":
                if tok == "{" and depth == 0:
                    end_kind = "block"
                    break
                depth += 1
            elif tok in ")]}":
                if depth == 0:
                    end_kind = "close"  # a guard inside a macro such as matches!(x, P if …)
                    break
                depth -= 1
            elif depth == 0:
                if tok == "=>":
                    end_kind = "guard"
                    break
                if tok == ";":
                    break
                if tok == "let":
                    has_let = True
                elif tok == "&&" and binary(code, t.start()):
                    has_and = True
        if end_kind:
            yield mt.start(), mt.group(), end_kind, has_let, has_and


# (version, feature, regex, where): where = "code" (blanked source), "build.rs" (raw source of build scripts)
PATTERNS = [
    ("1.95", "cfg_select! macro", r"\bcfg_select\s*!", "code"),
    ("1.88", "naked functions", r"#\s*\[\s*unsafe\s*\(\s*naked\s*\)|\bnaked_asm\s*!", "code"),
    ("1.89", "inferred const argument `[expr; _]`", r";\s*_\s*\]", "code"),
    ("1.85", "async closures", r"\basync\s+(?:move\s+)?\|", "code"),
    ("1.79", "inline const block `const {`", r"\bconst\s*\{", "code"),
    ("1.77", "C string literal", r"(?<![A-Za-z0-9_])cr?\"", "code"),
    ("1.77", "build-script `cargo::` directive", r"\"cargo::", "build.rs"),
]


def features(src):
    """{feature: (version, [offsets])} for one file's source."""
    code = blank(src)
    assert len(code) == len(src)
    out = {}
    for off, kw, end_kind, has_let, has_and in conditions(code):
        if end_kind == "block" and has_let and has_and:
            out.setdefault("let chains (`if let … && …`)", ("1.88", []))[1].append(off)
        elif end_kind in ("guard", "close") and kw == "if" and has_let:
            out.setdefault("if-let guard on a match arm", ("1.95", []))[1].append(off)
    for off in cfg_literals(code):
        out.setdefault("cfg(true)/cfg(false)", ("1.88", []))[1].append(off)
    for v, name, rx, where in PATTERNS:
        for hit in re.finditer(rx, src if where == "build.rs" else code):
            out.setdefault(name, (v, []))[1].append(hit.start())
    return out


# The scanner's own check: each snippet must give exactly these features (so a broken rule cannot pass quietly).
SELF_TEST = [
    ("if let Some(b) = &bias\n    && b.len() != n\n{ x }", {"let chains (`if let … && …`)"}),
    ("if a.is_some() && let Some(t) = f(i) { }", {"let chains (`if let … && …`)"}),
    ("while let Some(x) = it.next() && x > 0 { }", {"let chains (`if let … && …`)"}),
    ("if let Some(x) = f(a && b) { } if a && b { } if let Some(x) = &&y { }", set()),
    ("// if let Some(x) = y && z {}\nlet s = \"if let a = b && c {\"; let c = '{';", set()),
    ("let s = r#\"if let a = b && c { \"# ; if x { }", set()),
    ("match v { Some(x) if let Ok(y) = p(x) => y, _ => 0 }", {"if-let guard on a match arm"}),
    ("match v { Some(x) if x > 1 => x, _ => 0 } matches!(v, Some(x) if x > 1)", set()),
    ("cfg_select! { unix => {} _ => {} }", {"cfg_select! macro"}),
    ("#[cfg(any(unix, false))] fn f() {} #[cfg_attr(test, derive(Debug))] #[cfg(feature = \"true\")] fn g() {}",
     {"cfg(true)/cfg(false)"}),
    ("let a: [u8; 4] = [0; _];", {"inferred const argument `[expr; _]`"}),
    ("let f = async move |x| x; let g = async { 1 };", {"async closures"}),
    ("fn f<'a>(x: &'a str) -> &'a str { let c = c\"hi\"; x }", {"C string literal"}),
]
for snippet, expect in SELF_TEST:
    got = set(features(snippet))
    if got != expect:
        sys.exit(f"check-msrv: FAIL: the scanner's self-test: {snippet!r} gave {sorted(got)}, not {sorted(expect)}")

files = subprocess.run(["git", "ls-files", "-z", "--", "*.rs"], check=True, stdout=subprocess.PIPE,
                       text=True).stdout.split("\0")
found = {}  # feature -> (version, ["file:line", …])
for f in filter(None, files):
    src = Path(f).read_text(encoding="utf-8")
    for name, (v, offs) in features(src).items():
        if name == "build-script `cargo::` directive" and Path(f).name != "build.rs":
            continue
        found.setdefault(name, (v, []))[1].extend(f"{f}:{src.count(chr(10), 0, o) + 1}" for o in offs)

for name, (v, locs) in sorted(found.items(), key=lambda kv: ver(kv[1][0]), reverse=True):
    more = f" (+{len(locs) - 3} more)" if len(locs) > 3 else ""
    where = ", ".join(locs[:3]) + more
    needed.append((ver(v), name))
    if ver(v) > declared:
        fail(f"{name} needs Rust {v}: {where}")
    else:
        print(f"  ok   {v} {name}: {len(locs)} use(s), e.g. {locs[0]}")

# --- 3. clippy's incompatible_msrv stays on ------------------------------------------------------------------
print("std APIs (clippy::incompatible_msrv, run by ci/test.sh's clippy step):")
before = len(failures)
lint = root_toml.get("workspace", {}).get("lints", {}).get("clippy", {}).get("incompatible_msrv")
level = lint.get("level") if isinstance(lint, dict) else lint
if level != "deny":
    fail(f"[workspace.lints.clippy] incompatible_msrv is {level!r}, should be \"deny\"")
for m in members:
    mt = tomllib.loads(Path(m["manifest_path"]).read_text())
    if mt.get("lints", {}).get("workspace") is not True:
        fail(f"{m['name']}: Cargo.toml lacks [lints] workspace = true (so the workspace's lints do not apply)")
clippy = tomllib.loads(Path("clippy.toml").read_text()) if Path("clippy.toml").exists() else {}
if "msrv" in clippy:
    fail(f"clippy.toml sets msrv = {clippy['msrv']!r}: clippy must read rust-version from Cargo.toml")
if clippy.get("check-incompatible-msrv-in-tests") is not True:
    fail("clippy.toml lacks check-incompatible-msrv-in-tests = true (test code would not be checked)")
for f in filter(None, files):
    code = blank(Path(f).read_text(encoding="utf-8"))
    for hit in re.finditer(r"(?:allow|expect)\s*\([^)]*clippy::incompatible_msrv|clippy::msrv\b", code):
        fail(f"{f}:{code.count(chr(10), 0, hit.start()) + 1}: allows incompatible_msrv or overrides clippy::msrv")
if len(failures) == before:
    print("  ok   incompatible_msrv = \"deny\" in every member, tests included; clippy reads rust-version")

# --- 4. README -----------------------------------------------------------------------------------------------
print("README.md:")
readme = Path("README.md").read_text()
mt = re.search(r"Rust (\d+\.\d+(?:\.\d+)?) or newer", readme)
if not mt:
    fail("README.md does not name the toolchain (\"Rust X.Y or newer\")")
elif ver(mt.group(1)) != declared:
    fail(f"README.md says Rust {mt.group(1)} or newer, Cargo.toml says {show(declared)}")
else:
    print(f"  ok   \"Rust {mt.group(1)} or newer\"")

# --- 5. the container's pinned toolchain ---------------------------------------------------------------------
docker = Path("packer/container/Dockerfile")
if docker.exists():
    print(f"{docker}:")
    mt = re.search(r"^ARG RUST_VERSION=(\S+)", docker.read_text(), re.M)
    if mt and ver(mt.group(1)) < declared:
        fail(f"{docker}: ARG RUST_VERSION={mt.group(1)} is older than rust-version {show(declared)}")
    elif mt:
        print(f"  ok   ARG RUST_VERSION={mt.group(1)}")

top_v, top_why = max(needed) if needed else (declared, "nothing found")
if failures:
    print(f"check-msrv: FAIL: {len(failures)} problem(s) above with rust-version {show(declared)}; "
          f"the workspace needs at least {show(top_v)} ({top_why}).", file=sys.stderr)
    sys.exit(1)
note = "; declared is above that (fine, but not the minimum)" if declared > top_v else ""
print(f"check-msrv: ok: rust-version {show(declared)}; highest need found: {show(top_v)} ({top_why}){note}")
PY
