# UniRL — the two entry points of the README, plus the format check, benchmarks and the reference environment.
SWIFT ?= swift

.PHONY: deps demo test format-check bench bench-mpi reference-env fixtures fuzz

deps:
	@scripts/install-system-deps.sh

## Install what is needed, then run the main job on the bundled default.
demo: deps
	$(SWIFT) run -c release unirl demo

## Install what is needed, then check the formatting and run the test suite (no Python needed). With Open MPI
## (make deps installs it) the MPI tests (Tests/MPITests) run `mpirun` jobs of unirl-mpi built with the MPI trait
## into .build-mpi; without mpirun they are skipped, with the reason in the test output.
MPI_TOOL := $(CURDIR)/.build-mpi/debug/unirl-mpi
test: deps format-check
	$(SWIFT) build --build-tests
	@if command -v mpirun >/dev/null 2>&1; then \
		$(SWIFT) build --traits MPI --product unirl-mpi --scratch-path .build-mpi; \
	else echo "no mpirun: the MPI tests will be skipped"; fi
	UNIRL_MPI_TOOL=$(MPI_TOOL) $(SWIFT) test --skip-build

## Data-parallel scaling (1, 2, 4 ranks) and all-reduce timings into runs/bench-mpi.jsonl (BENCHMARKS.md).
bench-mpi: deps
	scripts/bench-mpi.sh runs/bench-mpi.jsonl
	python3 scripts/mpi_scaling_model.py runs/bench-mpi.jsonl

## swift-format's lint rules (.swift-format) and lines of at most 140 characters.
format-check:
	SWIFT=$(SWIFT) scripts/format-check.sh

## Benchmark tables (PyTorch columns appear once `make reference-env` has run).
bench: deps
	$(SWIFT) build -c release --product unirl
	UNIRL_NUM_THREADS=2 .build/release/unirl bench tensor

## The git-ignored Python environment used only for fixtures and benchmarks.
reference-env:
	scripts/setup-reference-env.sh

fixtures: reference-env
	.venv-reference/bin/python scripts/make_tensor_fixtures.py

## libFuzzer: build the harness (Fuzz/) with -sanitize=fuzzer,address and run every target
## FUZZ_RUNS executions (default 1,000,000) on one core, starting from Fuzz/Seeds/<target>, or FUZZ_SECONDS
## of fuzzing per target when that comes first (0, the default: no time limit).
FUZZ_RUNS ?= 1000000
FUZZ_SECONDS ?= 0
FUZZ_TARGETS ?= safetensors model-config run-config tokenizer-json tiktoken bpe-encode png jpeg prompts
fuzz:
	cd Fuzz && $(SWIFT) build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	@mkdir -p Fuzz/corpus Fuzz/crashes
	@for t in $(FUZZ_TARGETS); do \
		echo "== $$t"; mkdir -p Fuzz/corpus/$$t; \
		UNIRL_FUZZ_TARGET=$$t Fuzz/.build/debug/UniRLFuzz -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_SECONDS) -jobs=1 -max_len=65536 -timeout=10 \
			-rss_limit_mb=4096 -artifact_prefix=Fuzz/crashes/$$t- Fuzz/corpus/$$t Fuzz/Seeds/$$t || exit 1; \
	done
