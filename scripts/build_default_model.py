"""Rebuild the built-in default model: `charlm-train fit --sample rioplatense` with the defaults.

Trains in a throw-away model store, then copies the model's files into
charlm/models/default/ (package data). Run from the repository root:

    python scripts/build_default_model.py        (or: make default-model)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "charlm" / "models" / "default"
FILES = ("config.json", "weights.npz", "history.csv")


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="charlm-default-"))
    env = {**os.environ, "CHARLM_HOME": str(home)}
    cmd = [sys.executable, "-m", "charlm.trainer.cli", "fit", "--sample", "rioplatense", "--name", "sample"]
    print("$ CHARLM_HOME=" + str(home), " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, env=env, check=True)
    built = home / "models" / "sample"
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy2(built / name, TARGET / name)
    size = sum((TARGET / n).stat().st_size for n in FILES)
    print(f"default model written to {TARGET} ({size / 1e6:.2f} MB)")
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
