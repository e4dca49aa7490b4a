#!/bin/bash
# Trainings side by side on one lent GPU, each for MINUTES: the race of session 21 or 26.
#
#   bash scripts/gpu_race.sh MINUTES STAGE OUT [s21|s26]
#
# STAGE holds the packed train splits (scripts/pack_training_data.py): uav-crackx, crack500,
# deepcrack, concrete-walls. Why several processes and not one: runs inside one process share one
# stream of augmented batches, so only separate processes can race augmentations (field optics,
# stains, scale) against each other; each gets its own loader workers (16 cores: 5 + 4 + 4).
# Each writes OUT/<name>/<run>-<percent>.safetensors and budget_run.json; logs go to stdout, prefixed.
#
# s21 (default): session 21's race, without stains, tining or tined joints but for `ostain`.
# s26: the race sessions 22-23 proposed: every member starts from models/default (in session 26
# the session-22 soup; the even soup with its `o03` run shipped next) and sees the
# kinds that still fool it (stains, tining, tined joints) at half weight; `optics` races two
# learning rates, `plain` leaves the optics out, `thin` draws scales down to 0.35x (thin cracks
# as a drone sees them). Snapshots at half, three quarters and the end, for trajectory averages.
set -u
minutes=${1:?minutes} stage=${2:?stage folder} out=${3:?out folder} race=${4:-s21}
data="$stage/uav-crackx,$stage/crack500,$stage/deepcrack,$stage/concrete-walls"
limit=$(python3 -c "print(int($minutes * 60 + 120))")  # start-up and snapshots, then stop

case $race in
  s21) common=(--data "$data" --data-weights 2,1,1.5,2 --minutes "$minutes" --batch-size 64 --crop 256
               --snapshots 1 --seed 50) ;;
  s26) common=(--data "$data" --data-weights 2,1,1.5,2 --minutes "$minutes" --batch-size 64 --crop 256
               --snapshots 0.5,0.75,1 --seed 51) ;;
  *) echo "gpu_race.sh: unknown race '$race' (s21 or s26)" >&2; exit 2 ;;
esac

train() {  # NAME WORKERS ARGS...
  local name=$1 workers=$2
  shift 2
  timeout "$limit" python3 scripts/train_budget.py "${common[@]}" --workers "$workers" "$@" --out "$out/$name" 2>&1 \
    | sed -u "s/^/[$name] /"
}

if [ "$race" = s21 ]; then
  train optics 5 --field-optics --hard-negative-weights hard_shadow=2,stain=0,tining=0,tined_joint=0 \
    --run optics3=models/default:3e-4 --run optics1=models/default:1e-4 &
  train plain 4 --hard-negative-weights hard_shadow=2,stain=0,tining=0,tined_joint=0 --run plain3=models/default:3e-4 &
  train ostain 4 --field-optics --hard-negative-weights hard_shadow=2,stain=1,tining=0,tined_joint=0 --run ostain3=models/default:3e-4 &
else
  weak=hard_shadow=2,stain=0.5,tining=0.5,tined_joint=0.5
  train optics 5 --field-optics --hard-negative-weights "$weak" \
    --run o1=models/default:1e-4 --run o03=models/default:3e-5 &
  train plain 4 --hard-negative-weights "$weak" --run p1=models/default:1e-4 &
  train thin 4 --field-optics --scale 0.35,1.5 --hard-negative-weights "$weak" --run t1=models/default:1e-4 &
fi
wait
