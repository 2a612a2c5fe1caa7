#!/usr/bin/env bash
# Starts `pbtnas worker` processes on machines over ssh: one per GPU listed, e.g.
#   scripts/launch/ssh-workers.sh /shared/runs/NAME gpu1:0 gpu1:1 gpu2:0
# Each host needs pbtnas on its PATH, the run directory on a shared filesystem, and the store URL
# in ~/.pbtnas-store (postgres://user:password@host/db, chmod 600). Workers log to
# RUN_DIR/workers/<host>-<gpu>.log; kill them at will, start them again to continue. RUN_DIR may
# be an experiment directory (`pbtnas experiment run FILE --exp-dir DIR --store-file …` started
# once): the workers then serve its runs in order until all are complete.
set -euo pipefail
RUN_DIR=${1:?usage: ssh-workers.sh RUN_DIR HOST:GPU...}
shift
for spec in "$@"; do
  host=${spec%%:*}
  gpu=${spec##*:}
  # shellcheck disable=SC2029 # expanded here on purpose
  ssh "$host" "mkdir -p '$RUN_DIR/workers' && CUDA_VISIBLE_DEVICES=$gpu nohup pbtnas worker '$RUN_DIR' \
    --device cuda --store-file ~/.pbtnas-store --json > '$RUN_DIR/workers/$host-$gpu.log' 2>&1 &"
  echo "started a worker on $host GPU $gpu"
done
