#!/usr/bin/env bash
# Data-parallel scaling on this machine (BENCHMARKS.md, "Data-parallel GRPO over MPI"):
# toy-scenario steps/s for 1, 2, 4 ranks (oversubscribed when ranks > cores), and all-reduce times of
# Float buffers for 2 and 4 ranks, from which scripts/mpi_scaling_model.py extrapolates real gradient sizes.
# Usage: scripts/bench-mpi.sh [output.jsonl]   (needs Open MPI: make deps)
set -euo pipefail
out=${1:-runs/bench-mpi.jsonl}
mkdir -p "$(dirname "$out")"
swift build -c release --traits MPI --product unirl-mpi --scratch-path .build-mpi >&2
tool=.build-mpi/release/unirl-mpi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 UNIRL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
: > "$out"
echo "{\"uptime\": \"$(uptime)\", \"cores\": $(nproc)}" | tee -a "$out"
# Three runs per point, interleaved over the rank counts so that a change of the machine's load hits all alike.
for scenario in tokens flow; do
    for repeat in 1 2 3; do
        for ranks in 1 2 4; do
            run=$(mpirun --oversubscribe -np "$ranks" "$tool" toy --scenario "$scenario" --steps 30 --prompts 8 --group 16)
            sps=$(echo "$run" | grep 'steps/s' | sed -E 's/.*\(([0-9.]+) steps\/s\).*/\1/')
            ar=$(echo "$run" | grep 'all-reduce' | sed -E 's/.*update ([0-9.]+) s a step, of which gradient all-reduce ([0-9.]+) s/\1 \2/')
            echo "{\"scenario\": \"$scenario\", \"ranks\": $ranks, \"repeat\": $repeat, \"steps_per_s\": $sps, " \
                "\"update_s\": ${ar% *}, \"allreduce_s\": ${ar#* }, \"uptime\": \"$(uptime)\"}" | tee -a "$out"
        done
    done
done
# 1 Mi to 64 Mi floats (4 to 256 MiB): large enough to be bandwidth-bound; bigger gradients are all-reduced in
# buckets of this size, so their time is extrapolated linearly from the largest.
for ranks in 2 4; do
    mpirun --oversubscribe -np "$ranks" "$tool" allreduce --elements 1024,1048576,16777216,67108864 --repeats 5 | tee -a "$out"
done
echo "uptime after: $(uptime)" >&2
