"""A stand-in for a process in the middle of saving NAME: holds its lock and an unfinished folder."""

import sys
import time

from charlm import store
from charlm.store import locks

name = sys.argv[1]
root = store.models_dir()
root.mkdir(parents=True, exist_ok=True)
with locks.name_lock(root, name):
    (root / f".tmp-{name}-0123abcd").mkdir()
    print("holding", flush=True)
    time.sleep(600)
