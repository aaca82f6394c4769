# strobe — build, test, demo.  `make` builds the CLI (build/bin/strobe), the
# engine (build/libstrobe.a) and one extension module per pyenv CPython
# 3.8–3.13 found (ABI-tagged .so files side by side in build/python/strobe).

CC      ?= cc
BUILD   ?= build
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter
DEFS    := -D_GNU_SOURCE
SAN     ?=
SANLD   ?=
ALLCFLAGS = $(CFLAGS) $(WARN) $(DEFS) $(SAN) -fPIC -fvisibility=hidden -Isrc/base -Isrc/engine
LDLIBS  := -lz -lpthread -ldl

PYENV_ROOT ?= $(HOME)/.pyenv
# Every pyenv interpreter 3.8-3.13 (found without PATH or shims).
PYTHONS := $(sort $(wildcard $(foreach v,8 9 10 11 12 13,$(PYENV_ROOT)/versions/3.$(v).*/bin/python3.$(v))))

BASE_SRC   := $(wildcard src/base/*.c)
ENGINE_SRC := $(wildcard src/engine/*.c)
LIB_OBJ    := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(BASE_SRC) $(ENGINE_SRC))
CLI_SRC    := $(wildcard src/cli/*.c)
CLI_OBJ    := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CLI_SRC))
MOD_SRC    := $(wildcard src/module/*.c)
CTEST_SRC  := $(wildcard tests/c/test_*.c)
CTESTS     := $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(CTEST_SRC))
PY_SRC     := $(wildcard python/strobe/*.py python/strobe/_boot/*.py)
PY_OUT     := $(patsubst python/%,$(BUILD)/python/%,$(PY_SRC))
HDRS       := $(wildcard src/*/*.h)

.PHONY: all lib cli modules python ctests test demo sanitize clean deps deps-test
all: lib cli modules python ctests

lib: $(BUILD)/libstrobe.a
cli: $(BUILD)/bin/strobe
python: $(PY_OUT)
ctests: $(CTESTS)

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Isrc/cli -c $< -o $@

$(BUILD)/libstrobe.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/strobe: $(CLI_OBJ) $(BUILD)/libstrobe.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(SANLD) -o $@ $(CLI_OBJ) $(BUILD)/libstrobe.a $(LDLIBS)

$(BUILD)/tests/%: tests/c/%.c $(wildcard tests/c/*.h) $(BUILD)/libstrobe.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/c -o $@ $< $(BUILD)/libstrobe.a $(LDLIBS)

$(BUILD)/python/%.py: python/%.py
	@mkdir -p $(dir $@)
	cp $< $@

# One extension per interpreter: the module sources are compiled against that
# interpreter's headers; the engine is shared.  Rule generated per python.
define MODULE_RULE
$(1)_INC := $$(shell $(2) -c 'import sysconfig;print(sysconfig.get_paths()["include"])' 2>/dev/null)
$(1)_EXT := $$(shell $(2) -c 'import sysconfig;print(sysconfig.get_config_var("EXT_SUFFIX"))' 2>/dev/null)
$(BUILD)/python/strobe/_strobe$$($(1)_EXT): $(MOD_SRC) $(HDRS) $(BUILD)/libstrobe.a
	@mkdir -p $$(dir $$@)
	$(CC) $(ALLCFLAGS) $(SANLD) -Isrc/module -I$$($(1)_INC) -shared -o $$@ $(MOD_SRC) $(BUILD)/libstrobe.a $(LDLIBS)
MODULES += $(BUILD)/python/strobe/_strobe$$($(1)_EXT)
endef
$(foreach p,$(PYTHONS),$(eval $(call MODULE_RULE,$(notdir $(p)),$(p))))

modules: $(MODULES)

# Bytecode for each interpreter, made at build time: a profiled program
# otherwise compiles strobe's Python at every start (~10 ms of its CPU) when
# it may not write __pycache__ (PYTHONDONTWRITEBYTECODE, a read-only install).
define PYC_RULE
$(BUILD)/python/.pyc-$(1): $(PY_OUT)
	$(2) -m compileall -q $(BUILD)/python/strobe
	@touch $$@
PYCS += $(BUILD)/python/.pyc-$(1)
endef
$(foreach p,$(PYTHONS),$(eval $(call PYC_RULE,$(notdir $(p)),$(p))))
python: $(PYCS)

# The test driver runs under the newest interpreter found (no PATH needed).
DRIVER_PY := $(lastword $(PYTHONS) $(wildcard /usr/bin/python3))
deps:
	@sh tools/deps.sh build
deps-test:
	@sh tools/deps.sh test

test: deps-test
	@$(MAKE) --no-print-directory all
	@$(firstword $(wildcard /usr/bin/python3) $(DRIVER_PY)) tests/run.py --build $(BUILD)

# The C tests under ASan+UBSan, then the engine inside real interpreters:
# an instrumented extension, the sanitizer runtime preloaded into the
# interpreters the Python tests start (one PYFRAME and one IFRAME version).
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
sanitize:
	@sh tools/deps.sh san
	$(MAKE) --no-print-directory BUILD=build-san CC=clang CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	    SAN="$(SAN_FLAGS)" ctests lib python
	@# The CLI and the extensions share the one (shared) runtime preloaded into Python.
	rm -f build-san/bin/strobe
	$(MAKE) --no-print-directory BUILD=build-san CC=clang CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	    SAN="$(SAN_FLAGS) -shared-libasan" \
	    SANLD="-Wl,-rpath,$$(dirname $$(clang -print-file-name=libclang_rt.asan-x86_64.so))" \
	    cli modules
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(firstword $(wildcard /usr/bin/python3) $(DRIVER_PY)) tests/run.py --build build-san --c-only
	STROBE_TEST_PRELOAD=$$(clang -print-file-name=libclang_rt.asan-x86_64.so) \
	    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(firstword $(wildcard /usr/bin/python3) $(DRIVER_PY)) tests/run.py --build build-san --no-c \
	    --python 3.9 --python 3.12 -k test_accuracy -k test_threads -k test_api -k test_asyncio -k test_offcpu

demo: deps
	@$(MAKE) --no-print-directory all
	@$(firstword $(wildcard /usr/bin/python3) $(DRIVER_PY)) tools/demo.py --build $(BUILD)

# What strobe costs, printed as figures (docs/PERFORMANCE.md).
# BENCH_ARGS="--quick" for a smoke check; "--memory-seconds 600" for the 10-minute memory run.
.PHONY: bench
bench: deps
	@$(MAKE) --no-print-directory all
	@$(firstword $(wildcard /usr/bin/python3) $(DRIVER_PY)) bench/run.py --build $(BUILD) $(BENCH_ARGS)

# Resilience runs of code nobody here wrote (docs/TORTURE.md): CPython's own
# test_asyncio/test_threading, deep stacks, thread churn, fork, exits, signals.
# TORTURE_ARGS="--quick" for a smoke run; "--python 3.12 -k fork" to narrow.
.PHONY: torture
torture: deps-test
	@$(MAKE) --no-print-directory all
	@$(firstword $(wildcard /usr/bin/python3) $(DRIVER_PY)) tests/torture/run.py --build $(BUILD) $(TORTURE_ARGS)

# libFuzzer on every decoder of the target's memory (tests/fuzz/README.md):
# built with clang into $(BUILD)/fuzz/, each run FUZZ_SECONDS from a copy of
# tests/fuzz/corpus.  FUZZ_ARGS="--only fuzz_frames" to narrow.
FUZZ_SECONDS ?= 20
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1
.PHONY: fuzz
fuzz:
	@sh tools/deps.sh san
	@$(firstword $(wildcard /usr/bin/python3) $(DRIVER_PY)) tests/fuzz/run.py --build $(BUILD) \
	    --cc clang --cflags "$(FUZZ_FLAGS)" --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)

clean:
	rm -rf build build-san
