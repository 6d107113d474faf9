#!/bin/bash
# The paper's command at full size with every translator cut to one epoch (docs/scale.md), with
# /usr/bin/time -v, a whole-tree RSS sampler (rss_tree.py: SIGINT under 2 GiB available) and
# timestamped log lines. Usage: benchmarks/tcga_run.sh DATA_DIR STORE LOGDIR
set -u
DATA=${1:-/work/bigdata/tcga_full}; STORE=${2:-/work/bigdata/scale3/store}; LOGS=${3:-/work/bigdata/scale3}
mkdir -p "$LOGS"
export OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
uptime > "$LOGS/run.uptime"
( while sleep 60; do uptime; done ) >> "$LOGS/run.uptime" &
UPTIME_PID=$!
/usr/bin/time -v .venv/bin/omibench run experiments/tcga.yaml \
  --set data.root="$DATA" \
  --set data.labels=GDC-PANCAN.basic_phenotype.tsv.gz --set data.label_column=project_id \
  --set tracking.store="$STORE" \
  --set 'translators=[{name: omitrans_cnn, params: {epochs: 1, epochs_decay: 0}}, {name: linear_regression}, {name: tdimpute, params: {epochs: 1}}, {name: omitrans_fc, params: {epochs: 1, epochs_decay: 0}}, {name: cgan, params: {epochs: 1, epochs_decay: 0}}]' \
  --set 'downstream.epochs=[1,1,1]' --set downstream.decay_epochs=1 \
  > >(while IFS= read -r l; do echo "$(date -u +%T) $l"; done > "$LOGS/run.log") 2>&1 &
TIME_PID=$!
.venv/bin/python benchmarks/rss_tree.py $TIME_PID "$LOGS/run.rss" --every 3 --stop-below-gib 2 &
wait $TIME_PID; echo "exit $?" >> "$LOGS/run.uptime"
sleep 4; kill $UPTIME_PID
