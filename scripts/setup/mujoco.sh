#!/usr/bin/env bash
# Fetches MuJoCo 3.17.0 (the library mujoco-rs 7.0.0 binds) and the dm_control 1.0.50 suite XMLs
# from their pinned PyPI wheels into the git-ignored third_party/, checking SHA-256 hashes.
# Idempotent. Needed only for `--features mujoco`; `.cargo/config.toml` points the build at it.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=third_party
mj_wheel_sha=d66928d86a2d1b601bbaa4dc11db50214d17d5301bb8afd84721313b67ff0874
mj_lib_sha=23496b023ee80fb61ab71167e94bc649f9941710fde96b18bb8204fb332523ad
dmc_wheel_sha=5434e1e51ff69016867426da7df6064b18d140e4d0a628f879bbcf0e7d0a586d

if [ -f "$root/mujoco/lib/libmujoco.so.3.17.0" ] && [ -f "$root/dmc/quadruped_run.xml" ] &&
   echo "$mj_lib_sha  $root/mujoco/lib/libmujoco.so.3.17.0" | sha256sum -c --quiet 2>/dev/null; then
  echo "MuJoCo 3.17.0 and the DMC XMLs are in $root/"
  exit 0
fi
mkdir -p "$root/wheels" "$root/mujoco/lib" "$root/dmc/common"
python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
  --python-version 3.11 --implementation cp mujoco==3.17.0 -d "$root/wheels"
python3 -m pip download -q --no-deps --only-binary=:all: dm_control==1.0.50 -d "$root/wheels"
mj_wheel=$(ls "$root"/wheels/mujoco-3.17.0-*.whl)
dmc_wheel=$(ls "$root"/wheels/dm_control-1.0.50-*.whl)
echo "$mj_wheel_sha  $mj_wheel" | sha256sum -c --quiet
echo "$dmc_wheel_sha  $dmc_wheel" | sha256sum -c --quiet
python3 - "$mj_wheel" "$dmc_wheel" "$root" <<'PY'
import pathlib, sys, zipfile
mj, dmc, root = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
with zipfile.ZipFile(mj) as z:
    (root / "mujoco/lib/libmujoco.so.3.17.0").write_bytes(z.read("mujoco/libmujoco.so.3.17.0"))
    for n in z.namelist():
        if n.endswith(("licenses/LICENSE", "licenses/LICENSES_THIRD_PARTY.md")):
            (root / "mujoco" / pathlib.Path(n).name).write_bytes(z.read(n))
with zipfile.ZipFile(dmc) as z:
    for n in z.namelist():
        p = pathlib.PurePosixPath(n)
        if p.suffix == ".xml" and p.parts[:2] == ("dm_control", "suite") and len(p.parts) in (3, 4):
            if len(p.parts) == 3 or p.parts[2] == "common":
                (root / "dmc" / pathlib.Path(*p.parts[2:])).write_bytes(z.read(n))
        if n.endswith(".dist-info/LICENSE"):
            (root / "dmc/LICENSE").write_bytes(z.read(n))
# quadruped_{walk,run}.xml: the edits dm_control's quadruped.make_model makes for these tasks
# (floor 20 s x speed, no walls, ball, target, terrain geom or rangefinders).
import xml.etree.ElementTree as ET
for task, speed in (("walk", 0.5), ("run", 5)):
    tree = ET.parse(root / "dmc/quadruped.xml")
    parents = {c: p for p in tree.iter() for c in p}
    def remove(tag, name):
        el = next(e for e in tree.iter(tag) if e.get("name") == name)
        parents[el].remove(el)
    next(e for e in tree.iter("geom") if e.get("name") == "floor").set("size", f"{20 * speed:g} {20 * speed:g} .5")
    for wall in ("wall_px", "wall_py", "wall_nx", "wall_ny"):
        remove("geom", wall)
    remove("body", "ball")
    remove("site", "target")
    remove("geom", "terrain")
    for rf in list(tree.iter("rangefinder")):
        parents[rf].remove(rf)
    tree.write(root / f"dmc/quadruped_{task}.xml")
PY
echo "$mj_lib_sha  $root/mujoco/lib/libmujoco.so.3.17.0" | sha256sum -c --quiet
ln -sf libmujoco.so.3.17.0 "$root/mujoco/lib/libmujoco.so"
echo "MuJoCo 3.17.0 in $root/mujoco/lib, DMC XMLs in $root/dmc"
