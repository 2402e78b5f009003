#!/usr/bin/env python3
"""Checks that nothing outside plugins/<name>/ includes that plugin's headers.

A plugin's headers are its insides: the records of its tables, its
internal classes. Other code learns about a plugin's data from its streams
and its routes, and code that must reach inside (a benchmark of its ledger,
a test that plants a fault in its tables) lives in the plugin's own folder.
This check keeps that true: for every tracked C++ file, each quoted
#include is resolved the way the compiler would (beside the including file
first, then through include directories: a plugin folder, or a public
`*/include/` tree) and an include that lands in another plugin's folder
is reported.

It also keeps LMDB inside storage: no header a plugin compiles against
(plugin_api, protocol, base, storage: what the SDK installs) and no file of
a plugin includes <lmdb.h> or <lmdb++.h>. A plugin reaches its tables
through storage's Txn, ReadTxn and WriteTxn, never through LMDB's handles.

    scripts/check-includes.py       exits 1 and lists the offending lines
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
LMDB_INCLUDE = re.compile(r"^\s*#\s*include\s*<(lmdb(\+\+)?\.h)>", re.MULTILINE)
# The headers a plugin compiles against (the SDK installs these folders).
PLUGIN_API_HEADERS = [
    "server/include/ates/plugin_api/",
    "protocol/include/",
    "protocol/base/include/",
    "storage/include/",
]

# Includes of a plugin's headers from outside it that are still to be
# moved, each with its reason. The list only shrinks.
KNOWN = {}


def plugin_dirs():
    """Each plugin's folder: plugins/<name>/, and plugins/examples/<name>/."""
    dirs = []
    for entry in sorted((ROOT / "plugins").iterdir()):
        if not entry.is_dir():
            continue
        if entry.name == "examples":
            dirs += [example for example in sorted(entry.iterdir()) if example.is_dir()]
        else:
            dirs.append(entry)
    return dirs


def public_include_dirs():
    return [path for path in ROOT.glob("*/include") if path.is_dir()] + [
        path for path in ROOT.glob("*/*/include") if path.is_dir()
    ]


def owner(path, plugins):
    for plugin in plugins:
        if plugin in path.parents:
            return plugin
    return None


def resolve(including, name, plugins, public):
    """The file a quoted include names, or None when it is not ours."""
    beside = including.parent / name
    if beside.is_file():
        return beside.resolve()
    for directory in public:
        if (directory / name).is_file():
            return (directory / name).resolve()
    for plugin in plugins:
        if (plugin / name).is_file():
            return (plugin / name).resolve()
    return None


def main():
    files = subprocess.run(
        ["git", "ls-files", "*.cpp", "*.hpp", "*.h", "*.cc"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    plugins = [plugin.resolve() for plugin in plugin_dirs()]
    public = public_include_dirs()
    problems, known_seen = [], set()
    for relative in files:
        path = (ROOT / relative).resolve()
        home = owner(path, plugins)
        text = path.read_text(encoding="utf-8", errors="replace")
        if home is not None or any(relative.startswith(prefix) for prefix in PLUGIN_API_HEADERS):
            for match in LMDB_INCLUDE.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"  {relative}:{line}: includes <{match.group(1)}>; LMDB stays inside storage/src")
        for match in INCLUDE.finditer(text):
            name = match.group(1)
            target = resolve(path, name, plugins, public)
            if target is None:
                continue
            target_owner = owner(target, plugins)
            if target_owner is None or target_owner == home:
                continue
            if (relative, name) in KNOWN:
                known_seen.add((relative, name))
                continue
            line = text.count("\n", 0, match.start()) + 1
            problems.append(
                f"  {relative}:{line}: includes {target.relative_to(ROOT)}, a header of "
                f"{target_owner.relative_to(ROOT)}/"
            )
    for key in sorted(set(KNOWN) - known_seen):
        problems.append(f"  {key[0]}: no longer includes {key[1]}; remove it from KNOWN in this script")
    if problems:
        print("check-includes: plugin headers included from outside their plugin, or LMDB outside storage:")
        print("\n".join(problems))
        return 1
    print(
        f"check-includes: {len(files)} files include no other plugin's headers ({len(KNOWN)} known, "
        "listed in the script), and LMDB only inside storage"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
