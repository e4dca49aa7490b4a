#!/bin/bash
# Three GPU trainings side by side on one lent GPU, each for MINUTES: the session-21 race.
#
#   bash scripts/gpu_race.sh MINUTES STAGE OUT
#
# STAGE holds the packed train splits (scripts/pack_training_data.py): uav-crackx, crack500,
# deepcrack, concrete-walls. Why three processes and not one: runs inside one process share one
# stream of augmented batches, so only separate processes can race augmentations (field optics,
# stains) against each other; each gets its own loader workers (16 cores: 5 + 4 + 4).
# Each writes OUT/<name>/<run>-100.safetensors and budget_run.json; logs go to stdout, prefixed.
# The kinds are those of session 21 (tined_joint, new in session 23, left out like tining).
set -u
minutes=${1:?minutes} stage=${2:?stage folder} out=${3:?out folder}
common=(--data "$stage/uav-crackx,$stage/crack500,$stage/deepcrack,$stage/concrete-walls" --data-weights 2,1,1.5,2
        --minutes "$minutes" --batch-size 64 --crop 256 --snapshots 1 --seed 50)
limit=$(python3 -c "print(int($minutes * 60 + 120))")  # start-up and snapshots, then stop

train() {  # NAME WORKERS ARGS...
  local name=$1 workers=$2
  shift 2
  timeout "$limit" python3 scripts/train_budget.py "${common[@]}" --workers "$workers" "$@" --out "$out/$name" 2>&1 \
    | sed -u "s/^/[$name] /"
}

train optics 5 --field-optics --hard-negative-weights hard_shadow=2,stain=0,tining=0,tined_joint=0 \
  --run optics3=models/default:3e-4 --run optics1=models/default:1e-4 &
train plain 4 --hard-negative-weights hard_shadow=2,stain=0,tining=0,tined_joint=0 --run plain3=models/default:3e-4 &
train ostain 4 --field-optics --hard-negative-weights hard_shadow=2,stain=1,tining=0,tined_joint=0 --run ostain3=models/default:3e-4 &
wait
