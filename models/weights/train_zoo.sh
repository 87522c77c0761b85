#!/bin/bash
# Trains the shipped zoo, one model after another, with one recipe for both data sets; resumable (a model
# whose card says "done" is skipped, a half-trained one continues from its checkpoint). Then copy
# runs/zoo/NAME/NAME.{safetensors,json} into models/weights/ and run
# `python -m models.zoo readme > models/weights/README.md`.
# CIFAR-10 must be in ~/.cache/skiplab (see README); THREADS sets the threads per run (default 2).
# CIFAR-10 models train with bfloat16 autocast (--precision bf16, about 1.6x faster on this CPU), shapes models in
# float32: one recipe per data set.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
for spec in "shapes 20 --skip" "shapes 20 --no-skip" "shapes 56 --skip" "shapes 56 --no-skip" "shapes 8 --skip" \
            "shapes 8 --no-skip" "cifar10 20 --skip bf16" "cifar10 20 --no-skip bf16" "cifar10 56 --skip bf16" \
            "cifar10 56 --no-skip bf16" "shapes 110 --skip" "shapes 110 --no-skip"; do
  set -- $spec
  kind=$([ "$3" = "--skip" ] && echo resnet || echo plain)
  name=$1-$kind$2
  grep -qs '"status": "done"' "runs/zoo/$name/$name.json" && continue
  echo "=== $name $(date -u +%T)"
  resume=$([ -f "runs/zoo/$name/checkpoint.safetensors" ] && echo --resume)
  python -m models.train --dataset "$1" --depth "$2" "$3" --epochs 15 --batch-size 128 --lr 0.1 --wd 5e-4 \
    --schedule onecycle --seed 0 --precision "${4:-fp32}" --out "runs/zoo/$name" $resume
  echo "=== $name exit $? $(date -u +%T)"
done
