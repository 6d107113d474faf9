#!/usr/bin/env bash
# Beyond the paper (issue 9): tune every fast translator with the same Optuna budget on each real
# cohort's validation split, then score the tuned settings on the test split over the cohort's seeds.
#   bash benchmarks/cohorts.sh [STORE] [TRIALS] [TIMEOUT_S]
# Needs ../shared/data. Budget per translator and cohort: TRIALS trials or TIMEOUT_S seconds,
# whichever ends first (defaults 10 and 180), objective val_mse, median pruner, seed 0.
set -euo pipefail
STORE=${1:-mlruns}
TRIALS=${2:-10}
TIMEOUT=${3:-180}
OMIBENCH=${OMIBENCH:-omibench}
ALL='translators=[{name: train_mean},{name: linear_regression},{name: ridge},{name: pcr},{name: knn},{name: lasso},{name: stack},{name: tdimpute}]'
for cohort in brca laml rosmap coad; do
  for t in ridge pcr knn stack lasso tdimpute; do
    "$OMIBENCH" tune "experiments/$cohort.yaml" --store "$STORE" --set "$ALL" --set 'seeds=[0]' \
      --translator "$t" --trials "$TRIALS" --timeout "$TIMEOUT"
  done
  "$OMIBENCH" run "experiments/$cohort.yaml" --store "$STORE" --set "$ALL" --set 'seeds=[0,1,2]' --tuned
done
