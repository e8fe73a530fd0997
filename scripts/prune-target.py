#!/usr/bin/env python3
"""Keeps a reused cargo target directory from filling the disk.

Every change to a crate's dependencies gives its test and binary executables
a new hash; cargo never deletes the old ones, and Tauri's test executables
are ~0.5 GB each. This removes, from <target>/<profile>/deps, the
executables of each name but the KEEP newest (a current build links up to
three of one name: e.g. `gecko`'s binary, its unit tests, and the lean
build without default features; anything a run still needs but was removed
is relinked from the kept libraries). Usage: prune-target.py TARGET_DIR.
Prints what it freed.
"""
import collections
import os
import re
import sys

KEEP = 3
EXE = re.compile(r"^(.+)-([0-9a-f]{16})$")


def prune(deps: str) -> int:
    groups = collections.defaultdict(list)
    for name in os.listdir(deps):
        m = EXE.match(name)
        path = os.path.join(deps, name)
        if not m or not os.path.isfile(path) or not os.access(path, os.X_OK):
            continue
        st = os.stat(path)
        groups[m.group(1)].append((st.st_mtime, st.st_size, path))
    freed = 0
    for files in groups.values():
        files.sort(reverse=True)
        for _mtime, size, path in files[KEEP:]:
            os.remove(path)
            if os.path.exists(path + ".d"):
                os.remove(path + ".d")
            freed += size
    return freed


def main() -> None:
    target = sys.argv[1]
    freed = 0
    # <target>/<profile>/deps, and <target>/<triple>/<profile>/deps for
    # cross builds (the macOS target directory).
    bases = [target] + [os.path.join(target, t) for t in ("aarch64-apple-darwin", "x86_64-apple-darwin")]
    for base in bases:
        for profile in ("debug", "release"):
            deps = os.path.join(base, profile, "deps")
            if os.path.isdir(deps):
                freed += prune(deps)
    print(f"==> pruned {freed / 1e9:.1f} GB of replaced executables from {target}")


if __name__ == "__main__":
    main()
