#!/usr/bin/python3
"""Checks that ci/setup.sh installs every program lblab, its scripts, tests and docs run.

    /usr/bin/python3 ci/check-setup.py        (no root needed; seconds)

1. Every program in setup's table (`ci/setup.sh --list`) is installed, and the Debian package
   that owns it (`dpkg -S`, after following symlinks and alternatives) is one setup installs,
   or one of their dependencies, or part of the base system (Essential or Priority: required).
   So a program cannot pass because this machine happens to have it: its package must be in
   setup's list, not merely installed.
2. The table is complete: the programs that the shell scripts (ci/, bench/, test fixtures),
   the Swift sources and tests (argv literals, `lblab exec ... -- CMD`, `ip netns exec NS CMD`)
   and the docs (README.md, docs/*.md: console blocks, inline `lblab exec ... -- CMD`) run
   are each in the table, or a shell builtin, or from the base system.
3. Every program in the table is run by something: found by the scan above, or used by a
   program outside the repository (virtme-ng, swift build), which the table says.

Exit status 0 when all hold, 1 otherwise (each problem printed with its fix).
"""
import glob
import os
import re
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Programs that come with lblab itself or with the Swift toolchain (not from apt).
OWN = {"lblab", "swift", "lblab-agent"}
# Users outside the repository that the table may name for a program the scan cannot see.
EXTERNAL_USERS = ("virtme-ng", "swift build", "actionlint")
# Programs those outside users run that no scan of the repository can see, and who runs them:
# checked like the programs the repository runs (virtme-ng builds the VM's initramfs with
# busybox, and stops with "no busybox was found" without it).
EXTERNAL_NEEDS = [("busybox", "virtme-ng (the VM's initramfs)")]

BASH_BUILTINS = set("""
. : [ [[ ]] alias bg bind break builtin caller cd command compgen complete compopt continue declare
dirs disown echo enable eval exec exit export false fc fg getopts hash help history jobs kill let
local logout mapfile popd printf pushd pwd read readarray readonly return set shift shopt source
suspend test times trap true type typeset ulimit umask unalias unset wait
if then else elif fi case esac for select while until do done in function time coproc ! { }
""".split())
WRAPPERS = {"nice", "timeout", "env", "exec", "command", "xargs", "sudo", "nohup", "time", "setpriv", "stdbuf"}  # time: also /usr/bin/time


def fail(problems, msg):
    problems.append(msg)


# --- setup's table ------------------------------------------------------------------------

def setup_table(whole):
    """setup's table: for this machine, or `whole` (the VM part too, needed or not)."""
    env = dict(os.environ, LBLAB_SETUP_VM="1", LBLAB_SETUP_BENCH="1") if whole else dict(os.environ)
    out = subprocess.run(["bash", os.path.join(REPO, "ci/setup.sh"), "--list"], env=env,
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        group, pkg, programs, used_by = line.split("\t")
        rows.append({"group": group, "package": pkg, "used_by": used_by,
                     "programs": [] if programs == "-" else programs.split(",")})
    return rows


# --- dpkg ---------------------------------------------------------------------------------

_DB = None


def db():
    """Every installed package's fields, from one dpkg-query call."""
    global _DB
    if _DB is None:
        fmt = "${db:Status-Abbrev}\x1f${Package}\x1f${Essential}\x1f${Priority}\x1f${Depends}\x1f${Pre-Depends}\x1f${Provides}\x1e"
        out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True).stdout
        _DB = {}
        for rec in out.split("\x1e"):
            f = rec.strip("\n").split("\x1f")
            if len(f) == 7 and f[0].startswith("ii"):
                _DB[f[1]] = {"Essential": f[2], "Priority": f[3], "Depends": f[4], "Pre-Depends": f[5], "Provides": f[6]}
    return _DB


_OWNERS = {}


def owners(path):
    """Packages owning `path` (or its /usr-merged twin), from `dpkg-query -S`."""
    if path not in _OWNERS:
        twins = [path, path[4:] if path.startswith("/usr/") else "/usr" + path]
        r = subprocess.run(["dpkg-query", "-S"] + twins, capture_output=True, text=True)
        pkgs = set()
        for line in r.stdout.splitlines():
            if line.startswith("diversion "):
                continue
            names, _, owned = line.rpartition(": ")
            if owned.strip() in twins:
                pkgs.update(n.strip().split(":")[0] for n in names.split(","))
        _OWNERS[path] = pkgs
    return _OWNERS[path]


def prefetch_owners(paths):
    """Fills the owner cache for many paths with one `dpkg-query -S` call."""
    paths = [p for p in set(paths) if p not in _OWNERS]
    if not paths:
        return
    twin = {p: [p, p[4:] if p.startswith("/usr/") else "/usr" + p] for p in paths}
    r = subprocess.run(["dpkg-query", "-S"] + [t for ts in twin.values() for t in ts], capture_output=True, text=True)
    by_file = {}
    for line in r.stdout.splitlines():
        if line.startswith("diversion "):
            continue
        names, _, owned = line.rpartition(": ")
        by_file.setdefault(owned.strip(), set()).update(n.strip().split(":")[0] for n in names.split(","))
    for p, ts in twin.items():
        _OWNERS[p] = set().union(*(by_file.get(t, set()) for t in ts))


def package_field(pkg, field):
    return db().get(pkg, {}).get(field, "")


def installed(pkg):
    return pkg in db()


def base_system(pkg):
    return package_field(pkg, "Essential") == "yes" or package_field(pkg, "Priority") == "required"


def installed_packages():
    """Installed package names, and the virtual names each provides."""
    provides = {}
    for name, f in db().items():
        for v in f["Provides"].split(","):
            v = re.sub(r"\(.*?\)", "", v).strip()
            if v:
                provides.setdefault(v, []).append(name)
    return set(db()), provides


def dependency_closure(pkgs):
    """The installed packages that installing `pkgs` brings in (Depends and Pre-Depends)."""
    names, provides = installed_packages()
    # A listed package counts as installed when an installed package provides it (pkgconf).
    seen, todo = set(), [q for p in pkgs for q in ([p] if p in names else provides.get(p, []))]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        deps = package_field(p, "Depends") + "," + package_field(p, "Pre-Depends")
        for clause in deps.split(","):
            # "a (>= 1) | b": the first installed alternative (or provider) is what apt used.
            for alt in clause.split("|"):
                name = re.sub(r"\(.*?\)|\[.*?\]", "", alt).strip().split(":")[0]
                if name in names:
                    todo.append(name)
                    break
                if name in provides:
                    todo += provides[name]
                    break
    return seen


def resolve(program):
    for d in SYSTEM_PATH.split(":"):
        p = os.path.join(d, program)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


# --- scanning what the repository runs ------------------------------------------------------

def strip_heredocs_and_comments(text):
    """Shell text with heredoc bodies and comments removed, unquoted newlines turned into ';'."""
    out, i, n = [], 0, len(text)
    quote = None
    pending_heredocs = []
    while i < n:
        c = text[i]
        if quote:
            out.append(c)
            if c == "\\" and quote == '"' and i + 1 < n:
                out.append(text[i + 1]); i += 2; continue
            if c == quote:
                quote = None
            i += 1
            continue
        if c in "'\"":
            quote = c; out.append(c); i += 1; continue
        if c == "\\" and i + 1 < n and text[i + 1] == "\n":
            out.append(" "); i += 2; continue
        if c == "#" and (i == 0 or text[i - 1] in " \t\n;|&(") :
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("<<", i) and not text.startswith("<<<", i):
            m = re.match(r"<<-?\s*(['\"]?)(\w+)\1", text[i:])
            if m:
                pending_heredocs.append(m.group(2))
                out.append(" ")
                i += m.end()
                continue
        if c == "\n":
            out.append(" ; ")
            i += 1
            for tag in pending_heredocs:
                # skip the body, up to a line that is exactly the tag
                while i < n:
                    end = text.find("\n", i)
                    line = text[i:end if end >= 0 else n]
                    i = (end + 1) if end >= 0 else n
                    if line.strip() == tag:
                        break
            pending_heredocs = []
            continue
        out.append(c)
        i += 1
    return "".join(out)


def matching_paren(text, i):
    """Index just after the ')' closing the '(' before position i (quote-aware)."""
    depth, quote, n = 1, None, len(text)
    while i < n:
        c = text[i]
        if quote == "'":
            if c == "'":
                quote = None
        elif c == "\\":
            i += 1
        elif quote == '"':
            if c == '"':
                quote = None
            elif text.startswith("$(", i):
                i = matching_paren(text, i + 2)
                continue
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def command_substitutions(text):
    """Bodies of $( ... ) (outside single quotes), and the text with each replaced by a word."""
    bodies, out, i, n = [], [], 0, len(text)
    quote = None
    while i < n:
        c = text[i]
        if quote == "'":
            out.append(c)
            quote = None if c == "'" else quote
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            out.append(text[i:i + 2]); i += 2; continue
        if text.startswith("$((", i):  # arithmetic: no command inside
            j = matching_paren(text, i + 2)
            out.append("ARITH")
            i = j
            continue
        if text.startswith("$(", i):
            j = matching_paren(text, i + 2)
            bodies.append(text[i + 2:j - 1])
            out.append("SUBST")
            i = j
            continue
        if c == '"':
            quote = None if quote == '"' else '"'
        elif c == "'" and quote is None:
            quote = "'"
        out.append(c)
        i += 1
    return bodies, "".join(out)


OPERATORS = ["&&", "||", ";;", "|&", ">>", "<<", ">&", "<&", "&>", "<>", ";", "&", "|", "(", ")", "<", ">"]


def split_punct(tok):
    out = []
    while tok:
        for op in OPERATORS:
            if tok.startswith(op):
                out.append(op); tok = tok[len(op):]; break
        else:
            out.append(tok[0]); tok = tok[1:]
    return out


def tokenize(text):
    """Shell words (quotes removed) and operators; `ops` holds the indices of operators."""
    tokens, ops, i, n = [], set(), 0, len(text)
    word, in_word = [], False

    def end_word():
        nonlocal word, in_word
        if in_word:
            tokens.append("".join(word))
        word, in_word = [], False

    while i < n:
        c = text[i]
        if c in " \t\n":
            end_word(); i += 1; continue
        if c in ";&|()<>":
            end_word()
            for o in OPERATORS:
                if text.startswith(o, i):
                    ops.add(len(tokens)); tokens.append(o); i += len(o); break
            continue
        in_word = True
        if c == "\\" and i + 1 < n:
            word.append(text[i + 1]); i += 2; continue
        if c == "'":
            j = text.find("'", i + 1)
            j = n if j < 0 else j
            word.append(text[i + 1:j]); i = j + 1; continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    word.append(text[j + 1]); j += 2; continue
                word.append(text[j]); j += 1
            i = j + 1; continue
        word.append(c); i += 1
    end_word()
    return tokens, ops


def shell_commands(text, functions=frozenset()):
    """Program names a shell text runs (best effort: literal command words only)."""
    found = []
    text = strip_heredocs_and_comments(text)
    bodies, text = command_substitutions(text)
    functions = set(functions) | set(re.findall(r"(?m)^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)", text.replace(" ; ", "\n")))
    tokens, ops = tokenize(text)
    def op(k, *names):
        return k in ops and k < len(tokens) and tokens[k] in names

    def past_parens(k):  # the index after the balanced ( ... ) group that starts at k
        depth = 0
        while k < len(tokens):
            depth += op(k, "(")
            depth -= op(k, ")")
            k += 1
            if depth == 0:
                break
        return k

    SEPARATORS = (";", "&", "&&", "||", "|", "|&", "(", ")", ";;", "!")
    REDIRECTS = (">", ">>", "<", ">&", "<&", "&>", "<>", "<<")
    functions |= {tokens[k] for k in range(len(tokens) - 2) if op(k + 1, "(") and op(k + 2, ")")}
    for b in bodies:
        found += shell_commands(b, functions)
    at_command, skip_until, patterns, case_in = True, None, False, False
    k = 0
    while k < len(tokens):
        t = tokens[k]
        if patterns:  # case patterns, "a|b)", up to their ")"; "esac" ends the case
            if t == "esac" and k not in ops:
                patterns = False
            elif op(k, ")"):
                patterns, at_command = False, True
            k += 1
            continue
        if skip_until:
            if (k in ops or t in ("do", "in")) and t in skip_until:
                skip_until = None
                at_command = True
                patterns = t == "in" and case_in
            k += 1
            continue
        if op(k, ";;"):
            patterns = True
            k += 1
            continue
        if at_command and op(k, "(") and op(k + 1, "("):  # (( arithmetic )): no command in it
            k = past_parens(k)
            continue
        if op(k, *SEPARATORS) or (k not in ops and t in ("{", "}", "!")):
            at_command = True; k += 1; continue
        if op(k, *REDIRECTS):
            k += 2; continue
        if t.isdigit() and op(k + 1, *REDIRECTS):  # 2>/dev/null
            k += 1; continue
        if not at_command:
            k += 1; continue
        if t in ("then", "do", "else", "elif", "if", "while", "until", "time", "fi", "done", "esac"):
            k += 1; continue
        if t == "for" and op(k + 1, "("):  # for ((i = 0; i < n; i++)): arithmetic, up to "do"
            k = past_parens(k + 1)
            continue
        if t in ("for", "select", "case"):
            skip_until = {";", "do"} if t != "case" else {"in"}
            case_in = t == "case"
            k += 1; continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[.*\])?\+?=", t):  # assignment
            if t.endswith("=") and op(k + 1, "("):  # an array: skip its words
                k = past_parens(k + 1)
                continue
            k += 1; continue
        if t in ("declare", "local", "typeset", "readonly", "export"):  # their words are not commands
            found.append(t)
            while k < len(tokens) and not op(k, ";", "&", "&&", "||", "|", ")"):
                k += 1
            continue
        if op(k + 1, ")") and t not in functions:  # a case pattern
            k += 1; continue
        at_command = False
        name = t
        if "$" in name or "SUBST" in name or "ARITH" in name or name.startswith(("/dev/", "./")) or ("/" in name and not name.startswith("/")):
            k += 1; continue
        base = os.path.basename(name)
        if name in functions:
            k += 1; continue
        found.append(base)
        args = []
        j = k + 1
        while j < len(tokens) and not op(j, ";", "&", "&&", "||", "|", "|&", ")", ";;"):
            if op(j, *REDIRECTS):
                j += 2; continue
            args.append(tokens[j]); j += 1
        # Wrappers run the command after their own options (and those options' values).
        if base in WRAPPERS and not (base == "command" and args[:1] in (["-v"], ["-V"])):
            takes_value = {"nice": {"-n"}, "timeout": {"-s", "-k"}, "time": {"-f", "-o"}, "env": {"-u", "-C"},
                           "xargs": {"-I", "-n", "-P", "-d", "-a", "-E", "-L", "-s"}, "stdbuf": {"-i", "-o", "-e"}}.get(base, set())
            rest = list(args)
            while rest and (rest[0].startswith("-") or (base == "env" and "=" in rest[0])):
                rest = rest[2:] if rest[0] in takes_value else rest[1:]
            if base == "timeout":
                rest = rest[1:]  # the duration
            rest = [a for a in rest if not a.isdigit()]
            if rest:
                found += shell_commands(" ".join(shlex.quote(a) for a in rest), functions)
        elif base == "ip" and args[:2] == ["netns", "exec"] and len(args) > 3:
            found += shell_commands(" ".join(shlex.quote(a) for a in args[3:]), functions)
        elif base in ("bash", "sh") and args[:1] == ["-c"] and len(args) > 1:
            found += shell_commands(args[1], functions)
        elif base == "lblab" and args[:1] == ["exec"] and "--" in args:
            found += shell_commands(" ".join(shlex.quote(a) for a in args[args.index("--") + 1:]), functions)
        k = j
    return found


def scan_shell_file(path):
    with open(path, encoding="utf-8") as f:
        return [(p, path) for p in shell_commands(f.read())]


def scan_swift_file(path):
    text = open(path, encoding="utf-8").read()
    found = []
    # Calls that start a program: Processes.runQuietly/runInheriting, and a bare run([...]) (the
    # integration tests' Harness); not some object's .run([...]) (lblab arguments to the lab VM).
    for m in re.finditer(r'(?:\b(?:runQuietly|runInheriting)|(?<![\w.])run)\(\s*\[\s*"([^"\\]+)"', text):
        found.append(m.group(1))
    for m in re.finditer(r'Processes\.find\("([^"\\]+)"\)', text):  # a server program a lab runs (dnsmasq, unbound)
        found.append(m.group(1))
    for m in re.finditer(r'"netns",\s*"exec",\s*[^,\]]+,\s*"([^"]+)"', text):
        found.append(m.group(1))
    for m in re.finditer(r'"--",\s*"([^"]+)"', text):  # lblab("exec", lab, node, "--", "cmd", ...)
        found.append(m.group(1))
    for m in re.finditer(r'exec \S+ \S+ -- ([A-Za-z0-9_.+-]+)', text):  # hints: "lblab exec %@ client -- curl ..."
        found.append(m.group(1))
    return [(os.path.basename(p), path) for p in found if not p.startswith("-")]


def scan_markdown_file(path):
    text = open(path, encoding="utf-8").read()
    found = []
    for block in re.finditer(r"```console\n(.*?)```", text, re.S):
        for line in block.group(1).splitlines():
            if line.startswith(("# ", "$ ")) and not line[2:].startswith("("):
                found += shell_commands(line[2:])
    for span in re.finditer(r"`(lblab exec [^`]+)`", text):
        found += shell_commands(span.group(1))
    # Placeholders in templates (`lblab exec LAB NODE -- CMD`) are not programs.
    return [(p, path) for p in found if not p.isupper()]


def scan_repository():
    uses = []
    for pattern in ["ci/*.sh", "bench/*.sh", "Tests/**/*.sh", "examples/**/*.sh"]:
        for path in sorted(glob.glob(os.path.join(REPO, pattern), recursive=True)):
            uses += scan_shell_file(path)
    for pattern in ["Sources/**/*.swift", "Tests/**/*.swift"]:
        for path in sorted(glob.glob(os.path.join(REPO, pattern), recursive=True)):
            uses += scan_swift_file(path)
    for path in [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs/*.md"))):
        if os.path.exists(path):
            uses += scan_markdown_file(path)
    return [(p, os.path.relpath(f, REPO)) for p, f in uses]


# --- the checks -----------------------------------------------------------------------------

def main():
    problems = []
    table = setup_table(whole=False)      # what setup installs here: must be installed
    whole = setup_table(whole=True)       # what setup installs somewhere: may be run
    setup_packages = {r["package"] for r in table if r["group"] != "pip"}
    # setup accepts Debian's busybox where busybox-static is asked for
    closure = dependency_closure(setup_packages | ({"busybox"} if "busybox-static" in setup_packages else set()))
    listed = {p: r for r in table for p in r["programs"]}
    listed_anywhere = {p: r for r in whole for p in r["programs"]}
    uses = scan_repository() + EXTERNAL_NEEDS
    paths = [x for p in set(listed_anywhere) | {u for u, _ in uses} if (x := resolve(p))]
    prefetch_owners(paths + [os.path.realpath(x) for x in paths])

    # 1. Each listed program is installed, from a package setup installs.
    for program, row in sorted(listed.items()):
        if row["group"] == "pip":
            venv = os.environ.get("LBLAB_VNG_VENV", "/opt/lblab-vng")
            exe = os.path.join(venv, "bin", program)
            cfg = os.path.join(venv, "pyvenv.cfg")
            if not os.access(exe, os.X_OK):
                fail(problems, f"{program} ({row['package']}, PyPI) is not in {venv}: run ci/setup.sh")
            elif "home = /usr/bin" not in open(cfg).read().splitlines() and not os.environ.get("LBLAB_CHECK_SETUP_VENV_OK"):
                fail(problems, f"{venv} was not made by Debian's /usr/bin/python3: run ci/setup.sh, which replaces it")
            continue
        path = resolve(program)
        if not path:
            fail(problems, f"{program} (package {row['package']}, for: {row['used_by']}) is not installed: run ci/setup.sh")
            continue
        real = os.path.realpath(path)
        pkgs = owners(real) or owners(path)
        if not pkgs:
            fail(problems, f"{program} is {real}, which no Debian package owns: ci/setup.sh must install it from {row['package']}")
        elif not (pkgs & closure) and not any(base_system(p) for p in pkgs):
            fail(problems, f"{program} comes from {', '.join(sorted(pkgs))}, which ci/setup.sh does not install "
                           f"(its table says {row['package']}): fix the table in ci/setup.sh")
        elif row["package"] not in pkgs and not any(base_system(p) for p in pkgs) and not (pkgs & closure):
            fail(problems, f"{program} is not from {row['package']} but from {', '.join(sorted(pkgs))}")

    # 2. Everything the repository runs is listed, a builtin, or base system.
    used_programs = {}
    for program, where in uses:
        used_programs.setdefault(program, set()).add(where)
    unlisted = {}
    for program, wheres in sorted(used_programs.items()):
        if program in listed_anywhere or program in BASH_BUILTINS or program in OWN:
            continue
        path = resolve(program)
        if path:
            pkgs = owners(os.path.realpath(path)) or owners(path)
            if pkgs and any(base_system(p) for p in pkgs):
                continue
            if pkgs & closure:
                continue
            unlisted[program] = (wheres, ", ".join(sorted(pkgs)) or "no package")
        else:
            unlisted[program] = (wheres, "not installed here")
    for program, (wheres, pkgs) in sorted(unlisted.items()):
        fail(problems, f"{program} is run by {', '.join(sorted(wheres))} but ci/setup.sh does not install it ({pkgs}): "
                       "add its package to the table in ci/setup.sh")

    # 3. Everything listed is used.
    for program, row in sorted(listed_anywhere.items()):
        if program in used_programs or any(u in row["used_by"] for u in EXTERNAL_USERS):
            continue
        fail(problems, f"{program} ({row['package']}) is in ci/setup.sh's table but nothing runs it: remove it, or name its user")

    n_programs = len(used_programs)
    if problems:
        for p in problems:
            print("check-setup: FAIL " + p)
        print(f"check-setup: {len(problems)} problem(s); {len(listed)} programs listed, {n_programs} programs found in the repository")
        return 1
    print(f"check-setup: ok: the {len(listed)} programs of ci/setup.sh's table come from the "
          f"{len(setup_packages)} packages it installs (or their dependencies); the {n_programs} programs the "
          f"repository runs are all listed, builtins or base system")
    return 0


def self_test():
    """Mutates a copy of the repository's text files and expects each mutation to be caught."""
    import shutil
    import tempfile
    cases = [
        ("busybox-static dropped from setup (busybox stays installed here)",
         "ci/setup.sh", lambda t: re.sub(r'\n  "busybox-static\|[^\n]*', "", t), "busybox"),
        ("curl dropped from setup, while lblab's hint runs it",
         "ci/setup.sh", lambda t: re.sub(r'\n  "curl\|[^\n]*', "", t), "curl is run by"),
        ("a program attributed to a package that does not bring it (tcpdump under libpcap-dev)",
         "ci/setup.sh", lambda t: re.sub(r'\n  "tcpdump\|[^\n]*', "", t).replace('"libpcap-dev|-|', '"libpcap-dev|tcpdump|'),
         "tcpdump comes from"),
        ("a listed program that nothing runs",
         "ci/setup.sh", lambda t: t.replace('"pkg-config|pkg-config|swift build: finds libmnl"', '"pkg-config|pkg-config|nothing"'),
         "nothing runs it"),
        ("a script that starts running a program setup does not install",
         "bench/scale.sh", lambda t: t + "\nfor f in a; do nosuchtool --x \"$f\" | sort; done\n", "nosuchtool is run by"),
        ("a doc that suggests a command setup does not install",
         "docs/lvs.md", lambda t: t + "\n```console\n# lblab exec dr-basic client -- nosuchclient http://198.51.100.100/\n```\n",
         "nosuchclient is run by"),
    ]
    failures = 0
    for what, path, mutate, expected in cases:
        with tempfile.TemporaryDirectory() as tmp:
            for pattern in ["ci/*", "bench/*.sh", "Sources/**/*.swift", "Tests/**/*.swift", "Tests/**/*.sh", "docs/*.md", "README.md"]:
                for f in glob.glob(os.path.join(REPO, pattern), recursive=True):
                    dst = os.path.join(tmp, os.path.relpath(f, REPO))
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    shutil.copy(f, dst)
            target = os.path.join(tmp, path)
            with open(target) as f:
                before = f.read()
            after = mutate(before)
            assert after != before, f"self-test: the mutation '{what}' changed nothing in {path}"
            with open(target, "w") as f:
                f.write(after)
            r = subprocess.run([sys.executable, os.path.join(tmp, "ci/check-setup.py")], capture_output=True, text=True,
                               env=dict(os.environ, LBLAB_CHECK_SETUP_VENV_OK="1"))
            caught = r.returncode == 1 and expected in r.stdout
            print(f"check-setup self-test: {'caught' if caught else 'MISSED'}: {what}")
            if not caught:
                failures += 1
                print(r.stdout + r.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        sys.exit(self_test())
    if "--scan" in sys.argv:  # debugging: what the scan finds, and where
        for program, where in sorted(set(scan_repository())):
            print(f"{program}\t{where}")
        sys.exit(0)
    sys.exit(main())
