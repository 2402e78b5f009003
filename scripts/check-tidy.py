#!/usr/bin/env python3
"""Runs clang-tidy (the repository's .clang-tidy) over every C++ source of
the default build, and fails when it reports anything.

clang-tidy takes 5 to 15 s per source, too long to run on the whole tree in
every CI run. So each source is checked again only when what it compiles
changed: the key of a clean result is a hash of the source as preprocessed
with comments and #defines (with the repository's own path taken out, so a
clone elsewhere shares it), of .clang-tidy and of clang-tidy's version. Clean keys are kept in ~/.cache/ates-tidy.

The compile commands come from a configuration of their own without
precompiled headers (clang cannot read GCC's) and without the UI (em++).

  scripts/check-tidy.py            every source of the product (what CI runs)
  scripts/check-tidy.py --all      the tests' sources too
  scripts/check-tidy.py FILE...    only these sources
"""
import concurrent.futures
import hashlib
import json
import os
import pathlib
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = pathlib.Path(os.environ.get("ATES_TIDY_BUILD", ROOT / "build-tidy"))
CACHE = pathlib.Path(os.environ.get("ATES_TIDY_CACHE", pathlib.Path.home() / ".cache" / "ates-tidy"))
TIDY_DB = BUILD / "tidy"  # the compile commands clang-tidy reads
JOBS = int(os.environ.get("ATES_TIDY_JOBS", os.cpu_count() or 2))


def configure():
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(BUILD), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug",
                    "-DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON", "-DATES_BUILD_UI=OFF", "-DCMAKE_CXX_COMPILER_LAUNCHER="],
                   check=True, stdout=subprocess.DEVNULL)
    entries = json.loads((BUILD / "compile_commands.json").read_text())
    # GCC-only flags clang's driver refuses: plugins' -fno-gnu-unique.
    for entry in entries:
        entry["command"] = entry["command"].replace(" -fno-gnu-unique", "")
    TIDY_DB.mkdir(parents=True, exist_ok=True)
    (TIDY_DB / "compile_commands.json").write_text(json.dumps(entries))
    return entries


def key_of(entry, config_hash):
    """The hash of what the source compiles, as the preprocessor sees it."""
    args = shlex.split(entry["command"])
    # Replace "-o out" and "-c" with "-E -P" to stdout.
    cleaned = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "-o":
            skip = True
            continue
        if arg in ("-c", "-MD", "-MMD"):
            continue
        if arg in ("-MF", "-MT", "-MQ"):  # their value follows
            skip = True
            continue
        if arg.startswith(("-MF", "-MT", "-MQ")):
            continue
        cleaned.append(arg)
    # -C keeps comments (a NOLINT is one) and -dD the #defines, so every
    # change clang-tidy could see changes the key.
    result = subprocess.run(cleaned + ["-E", "-P", "-C", "-dD"], cwd=entry["directory"], capture_output=True)
    if result.returncode != 0:
        return None  # let clang-tidy say why
    text = result.stdout.replace(str(ROOT).encode(), b"")
    return hashlib.sha256(config_hash + text).hexdigest()


def check(entry, config_hash):
    source = entry["file"]
    key = key_of(entry, config_hash)
    if key is not None and (CACHE / key).exists():
        return source, True, "", True
    result = subprocess.run(["clang-tidy", "--quiet", "-p", str(TIDY_DB), source], capture_output=True, text=True)
    findings = "\n".join(line for line in (result.stdout + result.stderr).splitlines()
                         if ": warning:" in line or "error:" in line.lower() or line.startswith(" "))
    clean = result.returncode == 0 and ": warning:" not in result.stdout and ": error:" not in result.stdout
    if clean and key is not None:
        (CACHE / key).touch()
    return source, clean, findings if not clean else "", False


def main():
    CACHE.mkdir(parents=True, exist_ok=True)
    args = sys.argv[1:]
    with_tests = "--all" in args
    wanted = {str(pathlib.Path(f).resolve()) for f in args if f != "--all"}
    entries = []
    seen = set()
    for entry in configure():
        source = str(pathlib.Path(entry["file"]).resolve())
        relative = os.path.relpath(source, ROOT)
        is_test = relative.endswith("_test.cpp") or relative.startswith(("tests/", "cmake/"))
        if source in seen or (wanted and source not in wanted) or (not wanted and is_test and not with_tests):
            continue
        seen.add(source)  # a source compiled into several targets is checked once
        entries.append(entry)
    version = subprocess.run(["clang-tidy", "--version"], capture_output=True, check=True).stdout
    config_hash = (ROOT / ".clang-tidy").read_bytes() + version
    unknown = wanted - seen
    if unknown:
        print("check-tidy: not in the build's compile commands: " + ", ".join(sorted(unknown)), file=sys.stderr)
        return 1
    failed = []
    cached = 0
    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        for source, clean, findings, from_cache in pool.map(lambda e: check(e, config_hash), entries):
            cached += from_cache
            if not clean:
                failed.append(source)
                print(f"check-tidy: {os.path.relpath(source, ROOT)}\n{findings}\n", file=sys.stderr)
    if failed:
        print(f"check-tidy: {len(failed)} of {len(entries)} sources have findings", file=sys.stderr)
        return 1
    print(f"check-tidy: {len(entries)} sources clean ({cached} unchanged since their last check)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
