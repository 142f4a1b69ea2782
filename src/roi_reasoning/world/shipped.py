"""The pretrained world shipped inside the package: ``roi_reasoning/world/pretrained/``.

A world build trains longer than ``roi demo`` can spend (docs/findings.md §1), so the
default world (``configs/world/default.yaml`` = ``WorldConfig()``) ships built: weights
(safetensors), tokenizer and chat template, ``world.json`` (config, measured quality, the
allocation table) and ``profile-test.jsonl``, with ``MANIFEST.json`` holding the sha256 of every
file. The tier files are not shipped: they are a function of the config's seed, so
installing regenerates them with ``write_world`` and checks them against the manifest's sha256.

- ``shipped_config_hash()``: the config hash of the shipped build (None if none is shipped).
- ``install_shipped(dest, cfg)``: the shipped build as a complete world folder at ``dest``.
- ``ship(build, dest)``: copy a built world folder into ``dest`` (default: the package folder)
  and write its manifest — how the shipped folder was made (``roi world ship <build folder>``).

Run example: ``roi world ship ~/.cache/roi-reasoning/world/<hash>``
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from roi_reasoning import runfolder
from roi_reasoning.world.problems import WorldConfig, write_world

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
MANIFEST = "MANIFEST.json"
# Everything of a built folder but its tier files (regenerated from the seed on install).
SHIPPED_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    runfolder.WORLD,
    runfolder.WORLD_PROFILE,
)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path = PRETRAINED) -> dict[str, Any] | None:
    path = folder / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def shipped_config_hash(folder: Path = PRETRAINED) -> str | None:
    manifest = read_manifest(folder)
    return None if manifest is None else manifest["config_hash"]


def _data_hashes(folder: Path) -> dict[str, str]:
    return {p.name: sha256(p) for p in sorted((folder / "data").glob("*.jsonl"))}


def ship(build: str | Path, dest: str | Path = PRETRAINED) -> Path:
    """Copy a complete built world folder's shipped files into ``dest`` (replacing what was
    there) and write ``MANIFEST.json``: every file's sha256 and those of its tier files."""
    build, dest = Path(build), Path(dest)
    missing = [name for name in SHIPPED_FILES if not (build / name).exists()]
    if missing or not (build / "data").is_dir():
        raise FileNotFoundError(
            f"{build}: not a complete world build (missing {', '.join(missing) or 'data/'}); "
            "run `roi world build`"
        )
    meta = json.loads((build / runfolder.WORLD).read_text())
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in SHIPPED_FILES:
        shutil.copy2(build / name, tmp / name)
    manifest = {
        "config_hash": meta["config_hash"],
        "files": {name: sha256(tmp / name) for name in SHIPPED_FILES},
        "data": _data_hashes(build),
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def install_shipped(dest: Path, cfg: WorldConfig, source: Path = PRETRAINED) -> Path:
    """Write the shipped build to ``dest`` (a folder that must not exist yet): its files, checked
    against the manifest, and the tier files regenerated from ``cfg``, checked likewise. A
    mismatch (a damaged install, or a generator that no longer writes the same problems) is a
    ``ValueError`` naming the file; nothing is left at ``dest``."""
    manifest = read_manifest(source)
    if manifest is None:
        raise FileNotFoundError(f"{source}: no {MANIFEST}: no world is shipped")
    tmp = dest.with_name(dest.name + ".installing")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for name, digest in manifest["files"].items():
            shutil.copy2(source / name, tmp / name)
            if sha256(tmp / name) != digest:
                raise ValueError(f"{source / name}: sha256 differs from {MANIFEST}")
        write_world(tmp / "data", cfg)
        if _data_hashes(tmp) != manifest["data"]:
            raise ValueError(
                f"{tmp / 'data'}: the regenerated tier files differ from the shipped build's "
                f"({source / MANIFEST}); rebuild with `roi world build --force`"
            )
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
