# Thin wrapper: install what is missing, build with CMake, run, test.
# Everything real lives in CMakeLists.txt, scripts/ and tests/.
BUILD      ?= build
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CONFIG     ?= config/paved.yaml
FUZZ_SECS  ?= 20

.PHONY: all build run test unit valgrind asan integration fuzz bench bench-runs \
        bench-check bench-create bench-delivery demo format \
        format-check clean deps deps-test node-deps

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# the embedded default deploys with the local driver: nginx, and the
# canary analysis asks Prometheus (scripts/prometheus-local var)
run: build
	@scripts/deps.sh run
	@mkdir -p var
	exec ./$(BUILD)/paved serve --config $(CONFIG)

# The integration suite's npm packages; some unit tests read them too
# (test_checkrun validates bodies against @octokit/openapi's schemas), so
# they are installed before the unit tests run.
node-deps: deps-test
	@cd tests/integration && \
	if [ ! -f node_modules/.package-lock.json ] || \
	   [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	    npm ci --no-audit --no-fund </dev/null; fi

# make test: every test there is, the way CI runs it.
test: deps-test node-deps
	$(MAKE) BUILD=build-ci CMAKE_FLAGS=-DPAVED_WERROR=ON build
	$(MAKE) unit BUILD=build-ci
	$(MAKE) valgrind BUILD=build-ci
	$(MAKE) asan
	$(MAKE) integration BUILD=build-ci
	$(MAKE) format-check
	@echo "make test: all suites passed"

unit:
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The unit tests under valgrind's memcheck.
# ctest's own status decides (a pipe into tail would hide it), and every
# log is checked for valgrind's error summary as well.
valgrind:
	cd $(BUILD) && { ctest -T memcheck --output-on-failure -j $(JOBS) \
	  > memcheck.out 2>&1; rc=$$?; tail -n 15 memcheck.out; \
	  exit $$rc; }
	@! grep -l "ERROR SUMMARY: [1-9]" $(BUILD)/Testing/Temporary/MemoryChecker.*.log 2>/dev/null

# The unit tests again under AddressSanitizer and UBSan.
asan: deps-test
	$(MAKE) BUILD=build-asan \
	  CMAKE_FLAGS="-DPAVED_WERROR=ON -DPAVED_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" build
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

integration: deps-test
	PAVED_BIN=$(CURDIR)/$(BUILD)/paved tests/integration/run.sh

# libFuzzer for FUZZ_SECS seconds per target, seeded from tests/fuzz/corpus.
fuzz: deps-test
	CC=clang $(MAKE) BUILD=build-fuzz CMAKE_FLAGS="-DPAVED_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug" build
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECS)

bench: build
	scripts/deps.sh bench
	PAVED_BIN=$(CURDIR)/$(BUILD)/paved bench/ingest

bench-runs: build
	scripts/deps.sh bench
	PAVED_BIN=$(CURDIR)/$(BUILD)/paved bench/runs

bench-check: build
	scripts/deps.sh bench
	PAVED_BIN=$(CURDIR)/$(BUILD)/paved bench/check/run

# Issue 7's story on one machine: staging on push, a canary to production
# on a tag, a faulty release rolled back by itself (scripts/demo).
demo: build
	@scripts/deps.sh demo
	PAVED_BIN=$(CURDIR)/$(BUILD)/paved scripts/demo

bench-create: build
	scripts/deps.sh bench
	PAVED_BIN=$(CURDIR)/$(BUILD)/paved bench/create/run

# Issue 7's timings over several runs of the demo: tag to 100 % and a
# breach to rollback, with their parts (docs/performance.md).
bench-delivery: build
	@scripts/deps.sh demo
	PAVED_BIN=$(CURDIR)/$(BUILD)/paved bench/delivery/run

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-ci build-asan build-fuzz
