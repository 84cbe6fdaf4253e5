# Thin convenience layer over CMake; the build itself is described in CMakeLists.txt.
#
#   make demo            install missing dependencies, build, boot the demo VM
#   make check           install missing dependencies, build, run every test
#   make build           configure and build build/
#   make asan            build build-asan/ with ASan+UBSan and run the tests there
#   make install [PREFIX=/usr/local] [DESTDIR=...]
#   make abi-check       compare the plugin SDK ABI against its committed baseline
#   make clean           remove build/ and build-asan/
#
# Variables: NO_DEPS=1 skips scripts/install-deps.sh; JOBS (build parallelism),
# CTEST_JOBS (test parallelism, default 2), CTEST_ARGS (e.g. CTEST_ARGS='-L vmdk'),
# BUILD_TYPE (default RelWithDebInfo), CMAKE_ARGS (extra configure arguments).

CMAKE ?= cmake
CTEST ?= ctest
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
CTEST_ARGS ?=
CMAKE_ARGS ?=
SANITIZERS ?= address,undefined
DEMO_CONFIG ?= examples/demo.conf

# PREFIX is passed to CMake only when given, so that the installed tessera knows where
# its plugins are (the plugin directory is compiled in from the install prefix).
PREFIX_ARG = $(if $(PREFIX),-DCMAKE_INSTALL_PREFIX=$(PREFIX))

.PHONY: all deps configure build demo check asan asan-configure install abi-check abi-update clean

all: build

deps:
ifneq ($(NO_DEPS),1)
	scripts/install-deps.sh
endif

configure: deps
	$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(PREFIX_ARG) $(CMAKE_ARGS)

build: configure
	$(CMAKE) --build $(BUILD_DIR) -j $(JOBS)

# Without a usable /dev/kvm the demo runs inside an emulated KVM host (scripts/nested-kvm.sh:
# QEMU TCG with AMD SVM, about 10 s); where not even that can be had, tessera says why in
# one line and the demo shows the machine it would have run (still exiting non-zero).
demo: build
	@if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then \
	  $(BUILD_DIR)/bin/tessera -config $(DEMO_CONFIG); \
	else \
	  echo "make demo: no usable /dev/kvm here: running the demo inside an emulated KVM host"; \
	  rc=0; scripts/nested-kvm.sh -- $(BUILD_DIR)/bin/tessera -config $(DEMO_CONFIG) || rc=$$?; \
	  if [ $$rc -ne 77 ]; then exit $$rc; fi; \
	  $(BUILD_DIR)/bin/tessera -config $(DEMO_CONFIG); \
	  echo "make demo: no usable /dev/kvm and no emulated KVM host; the demo VM it would run:"; \
	  $(BUILD_DIR)/bin/tessera -config $(DEMO_CONFIG) -print-config; \
	  exit 1; \
	fi

# The tests labelled needs-kvm run last, through scripts/check-kvm.sh: here when /dev/kvm
# is usable, otherwise inside an emulated KVM host (scripts/nested-kvm.sh).
check: build
	cd $(BUILD_DIR) && $(CTEST) --output-on-failure -j $(CTEST_JOBS) $(CTEST_ARGS) -LE needs-kvm
	scripts/check-kvm.sh $(BUILD_DIR) --output-on-failure -j $(CTEST_JOBS) $(CTEST_ARGS)

# Sanitizer reports are fatal: -fno-sanitize-recover=all is set by TESSERA_SANITIZE.
asan-configure: deps
	$(CMAKE) -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DTESSERA_SANITIZE=$(SANITIZERS) $(CMAKE_ARGS)

asan: asan-configure
	$(CMAKE) --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && \
	  ASAN_OPTIONS=$${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1} \
	  UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	  $(CTEST) --output-on-failure -j $(CTEST_JOBS) $(CTEST_ARGS) -LE needs-kvm
	ASAN_OPTIONS=$${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1} \
	  UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	  scripts/check-kvm.sh $(ASAN_DIR) --output-on-failure -j $(CTEST_JOBS) $(CTEST_ARGS)

install: build
	$(CMAKE) --install $(BUILD_DIR)

abi-check: build
	scripts/abi-check.sh --build-dir $(BUILD_DIR)

# Records the current SDK ABI as the baseline; only when an ABI change is meant.
abi-update: build
	scripts/abi-update.sh --build-dir $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
