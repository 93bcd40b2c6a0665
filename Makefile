# UniRL — the two entry points of the README, plus the format check, benchmarks and the reference environment.
SWIFT ?= swift

.PHONY: deps demo test format-check bench reference-env fixtures

deps:
	@scripts/install-system-deps.sh

## Install what is needed, then run the main job on the bundled default.
demo: deps
	$(SWIFT) run -c release unirl demo

## Install what is needed, then check the formatting and run the test suite (no Python needed).
test: deps format-check
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

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
