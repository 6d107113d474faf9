#!/bin/bash
# The paper's command at full size with every translator cut to one epoch (docs/scale.md), with
# /usr/bin/time -v, a whole-tree RSS sampler (rss_tree.py: SIGTERM under 2 GiB available), uptime
# every minute and timestamped log lines, all in LOGDIR/NAME.*.
# Usage: benchmarks/tcga_run.sh DATA_DIR STORE LOGDIR [NAME]; TRANSLATORS='[...]' overrides the list.
# CONTROLS=true adds the default controls (each writes a 1,817 x 60,483 prediction and its Table 3 row;
# the measured run in docs/scale.md predates them, so they are off here unless asked for).
set -u
DATA=${1:-/work/bigdata/tcga_full}; STORE=${2:-/work/bigdata/scale3/store}; LOGS=${3:-/work/bigdata/scale3}
NAME=${4:-run}
ONE_EPOCH='{epochs: 1, epochs_decay: 0}'
TRANSLATORS=${TRANSLATORS:-"[{name: omitrans_cnn, params: $ONE_EPOCH}, {name: linear_regression}, {name: tdimpute, params: {epochs: 1}}, {name: omitrans_fc, params: $ONE_EPOCH}, {name: cgan, params: $ONE_EPOCH}]"}
mkdir -p "$LOGS"
export OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
uptime > "$LOGS/$NAME.uptime"
( while sleep 60; do uptime; done ) >> "$LOGS/$NAME.uptime" &
UPTIME_PID=$!
/usr/bin/time -v .venv/bin/omibench run experiments/tcga.yaml \
  --set data.root="$DATA" \
  --set data.labels=GDC-PANCAN.basic_phenotype.tsv.gz --set data.label_column=project_id \
  --set tracking.store="$STORE" \
  --set "translators=$TRANSLATORS" --set "controls=${CONTROLS:-false}" \
  --set 'downstream.epochs=[1,1,1]' --set downstream.decay_epochs=1 \
  > >(while IFS= read -r l; do echo "$(date -u +%T) $l"; done > "$LOGS/$NAME.log") 2>&1 &
TIME_PID=$!
.venv/bin/python benchmarks/rss_tree.py $TIME_PID "$LOGS/$NAME.rss" --every 3 --stop-below-gib 2 &
wait $TIME_PID; echo "exit $?" >> "$LOGS/$NAME.uptime"
sleep 4; kill $UPTIME_PID
