#!/bin/sh
# The λ trade-off of Cycle-Edit RL (the paper's Figure 7 at ShapesWorld scale): three runs of
# `unirl train --scenario cycle-edit` from the same cold start, seed and held-out quadruples, with
# R = λ_edit·CLIP direction + λ_cycle·CLIP-I(reconstruction, source); then a Markdown table of the
# held-out numbers at the end of each run (and the cold start's), read from each run's summary.json.
#
#   scripts/cycle-edit-tradeoff.sh [extra key=value overrides, e.g. run.steps=20]
#
# UNIRL (default .build/release/unirl) and OUT (default runs/cycle-edit-tradeoff) may be set;
# REUSE=1 keeps a setting whose summary.json is already there (e.g. a default run written to
# $OUT/edit4-cycle1) instead of training it again.
set -eu
UNIRL=${UNIRL:-.build/release/unirl}
OUT=${OUT:-runs/cycle-edit-tradeoff}
SETTINGS="4:1 1:4 4:0"
for s in $SETTINGS; do
    edit=${s%:*}; cycle=${s#*:}
    if [ "${REUSE:-0}" = 1 ] && [ -f "$OUT/edit$edit-cycle$cycle/summary.json" ]; then continue; fi
    "$UNIRL" train --scenario cycle-edit run.output_dir="$OUT/edit$edit-cycle$cycle" run.overwrite=true \
        scenario.lambda_edit="$edit" scenario.lambda_cycle="$cycle" "$@"
done

field() { grep "\"$2\"" "$1" | head -n 1 | sed 's/.*: *//; s/,$//'; }
pct() { awk -v v="$1" 'BEGIN { printf "%.1f %%", 100 * v }'; }
num() { awk -v v="$1" 'BEGIN { printf "%.4f", v }'; }
echo
echo "| λ_edit : λ_cycle | exact edit success | cycle success | CLIP direction | CLIP-I(edit, source) | CLIP-I(reconstruction, source) |"
echo "|---|---:|---:|---:|---:|---:|"
first=true
for s in $SETTINGS; do
    edit=${s%:*}; cycle=${s#*:}
    f="$OUT/edit$edit-cycle$cycle/summary.json"
    if $first; then
        echo "| cold start | $(pct "$(field "$f" edit_success_start)") | $(pct "$(field "$f" cycle_success_start)") |" \
            "$(num "$(field "$f" clip_direction_start)") | $(num "$(field "$f" clip_i_edit_source_start)") |" \
            "$(num "$(field "$f" clip_i_reconstruction_source_start)") |"
        first=false
    fi
    echo "| $edit : $cycle | $(pct "$(field "$f" edit_success_end)") | $(pct "$(field "$f" cycle_success_end)") |" \
        "$(num "$(field "$f" clip_direction_end)") | $(num "$(field "$f" clip_i_edit_source_end)") |" \
        "$(num "$(field "$f" clip_i_reconstruction_source_end)") |"
done
