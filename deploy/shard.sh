#!/usr/bin/env sh
# One shard of a tile job: `steppe-atlas tiles ... --shard I/N`, with I taken from the
# scheduler (Kubernetes Indexed Job: JOB_COMPLETION_INDEX; Slurm array:
# SLURM_ARRAY_TASK_ID; else SHARD_INDEX) and N from SHARD_COUNT. Every extra argument is
# passed to `tiles` (years, zoom, format, data, style).
#
#   SHARD_COUNT=3 JOB_COMPLETION_INDEX=1 deploy/shard.sh --out /shared/tiles --format pmtiles
set -eu
index="${JOB_COMPLETION_INDEX:-${SLURM_ARRAY_TASK_ID:-${SHARD_INDEX:-}}}"
count="${SHARD_COUNT:-${SLURM_ARRAY_TASK_COUNT:-}}"
if [ -z "$index" ] || [ -z "$count" ]; then
  echo "shard.sh: set SHARD_COUNT and one of JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, SHARD_INDEX" >&2
  exit 2
fi
# Slurm arrays may start at 1 (--array=1-N): SHARD_BASE=1 shifts them to 0..N-1.
index=$((index - ${SHARD_BASE:-0}))
exec "${STEPPE_ATLAS:-steppe-atlas}" tiles --shard "$index/$count" "$@"
