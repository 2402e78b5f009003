#!/usr/bin/env python3
"""Makes every change to the plugin API's headers a decision about its version.

A plugin is loaded by the API version it was built against (docs/plugins.md,
"Compatibility"), so a change to a header a plugin compiles against that
breaks built plugins must bump kApiMajor, and an addition kApiMinor. Nothing
can tell those apart mechanically; this check makes sure someone did. It
keeps, in server/plugin-api.lock, the version and a hash of those headers
(the ones the SDK installs: plugin_api, protocol, base and storage), and fails
when the headers changed but the lock did not:

    scripts/check-plugin-api.py            exits 1 when the lock is stale
    scripts/check-plugin-api.py --record   after deciding (and bumping the
                                           version in plugin.hpp if needed)
"""
import hashlib
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOCK = ROOT / "server" / "plugin-api.lock"
HEADER_DIRS = [
    "server/include/ates/plugin_api",
    "protocol/include/ates/protocol",
    "protocol/base/include/ates/base",
    "storage/include/ates/storage",
]


def version():
    text = (ROOT / "server/include/ates/plugin_api/plugin.hpp").read_text(encoding="utf-8")
    major = re.search(r"kApiMajor = (\d+);", text)
    minor = re.search(r"kApiMinor = (\d+);", text)
    if not major or not minor:
        sys.exit("check-plugin-api: plugin.hpp states no kApiMajor/kApiMinor")
    return f"{major.group(1)}.{minor.group(1)}"


def digest():
    files = subprocess.run(
        ["git", "ls-files", *HEADER_DIRS], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    hash_ = hashlib.sha256()
    for name in sorted(files):
        hash_.update(name.encode() + b"\0" + (ROOT / name).read_bytes() + b"\0")
    return hash_.hexdigest(), len(files)


def main():
    current = version()
    headers, count = digest()
    line = f"{current} {headers}\n"
    if "--record" in sys.argv[1:]:
        LOCK.write_text(line, encoding="utf-8")
        print(f"check-plugin-api: recorded plugin API {current} over {count} headers")
        return 0
    recorded = LOCK.read_text(encoding="utf-8") if LOCK.exists() else ""
    if recorded == line:
        print(f"check-plugin-api: plugin API {current}, {count} headers as recorded")
        return 0
    print(
        "check-plugin-api: the plugin API's headers changed since server/plugin-api.lock was recorded.\n"
        "  Decide (docs/plugins.md, \"Compatibility\"): does the change break a plugin built before it?\n"
        "  Yes: bump kApiMajor (kApiMinor = 0). An addition only: bump kApiMinor. Neither (a comment,\n"
        "  a fix inside a function): keep the version. Then run scripts/check-plugin-api.py --record.\n"
        f"  recorded: {recorded.strip() or '(none)'}\n  now:      {line.strip()}"
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
