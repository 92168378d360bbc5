# logrisk — build, test, benchmark.
#
#   make            build/logrisk (the CLI) and build/liblogrisk.a
#   make run        install missing build dependencies, build, score the samples
#   make test       build and run every test suite (last line: N passed, N failed)
#   make bench      benchmarks against PyTorch and ONNX Runtime measured in the same run
#   make sanitize   the test suite under ASan + UBSan (separate build dir)
#   make valgrind   the C test suites under valgrind memcheck
#   make fuzz       libFuzzer targets (clang), each run for FUZZ_TIME (90, 10m, 1h)
#                   FUZZ_TARGETS="fuzz_rules fuzz_config" runs only those;
#                   FUZZ_MERGE=1 merges what adds coverage into the corpora
#   make static     fully static binaries with the model inside:
#                   build-static/logrisk (host), build-static-arm64/logrisk
#   make man        BUILD/logrisk.1, the man page, from the help texts
#   make install    PREFIX=/usr/local (binary, library, header, man page)
#   make model      retrain the default model from data/ and the judged corpus:
#                   the f32 master models/logrisk-mini.f32.lrm and its q8 copy,
#                   the built-in models/logrisk-mini.lrm (tools/make_model.sh,
#                   ~36 min on a busy 2-core machine)
#   make builtin    only the q8 copy again, from the master, and the figures
#                   of both on the judged test split (tools/make_builtin.sh)
#
# Variables: OPT (default -O2), BUILD (default build), CC, SANITIZER,
# MODEL (the model built into the CLI; `MODEL=` for none).

CC      ?= cc
OPT     ?= -O2
BUILD   ?= build
PREFIX  ?= /usr/local
FUZZ_SECONDS ?= 20
FUZZ_TIME    ?= $(FUZZ_SECONDS)
FUZZ_TARGETS ?=
FUZZ_MERGE   ?= 0

ARCH    := $(shell $(CC) -dumpmachine 2>/dev/null | cut -d- -f1)

CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE
CFLAGS  += -std=c11 -Wall -Wextra -Werror -g $(OPT) -MMD -MP $(SANITIZER)
LDFLAGS += $(SANITIZER)
# libevent (core + extra: evhttp) only for `logrisk serve` (src/serve.c);
# the static archives carry no TLS (docs/serving.md)
LDLIBS  += -lyaml -lpcre2-8 -lutf8proc -levent_extra -levent_core -lpthread -lm

# Per-ISA kernel files get their own target flags and are compiled only for
# their architecture; everything else in src/ is the library.
ISA_X86  := src/kern_avx2.c src/kern_avx512.c src/qkern_avx2.c src/qkern_avx512.c src/qkern_avxvnni.c
ISA_ARM  := src/kern_neon.c src/qkern_neon.c
LIB_SRC  := $(filter-out $(ISA_X86) $(ISA_ARM),$(wildcard src/*.c))
ifeq ($(ARCH),x86_64)
LIB_SRC  += $(wildcard $(ISA_X86))
endif
ifeq ($(ARCH),aarch64)
LIB_SRC  += $(wildcard $(ISA_ARM))
endif
LIB_SRC  += $(wildcard convert/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
BENCH_SRC := $(wildcard bench/*.c)

LIB_OBJ  := $(patsubst convert/%.c,$(BUILD)/obj/convert/%.o,$(LIB_SRC:src/%.c=$(BUILD)/obj/%.o))
CLI_OBJ  := $(CLI_SRC:src/cli/%.c=$(BUILD)/obj/cli/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

$(BUILD)/obj/kern_avx2.o:   ISAFLAGS = -mavx2 -mfma -mf16c
$(BUILD)/obj/kern_avx512.o: ISAFLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma
$(BUILD)/obj/qkern_avx2.o:  ISAFLAGS = -mavx2 -mfma
$(BUILD)/obj/qkern_neon.o:  ISAFLAGS = -march=armv8.2-a+dotprod
$(BUILD)/obj/qkern_avx512.o: ISAFLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mfma
$(BUILD)/obj/qkern_avxvnni.o: ISAFLAGS = -mavx2 -mfma -mavxvnni

.PHONY: all run test bench bench-binaries sanitize valgrind fuzz static install man clean deps model builtin lr-force

all: $(BUILD)/logrisk $(BUILD)/liblogrisk.a

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(ISAFLAGS) -c $< -o $@

$(BUILD)/obj/convert/%.o: convert/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The built-in rules: src/rules_seed.c is models/rules/seed.yaml as a C string
# (committed too, so that a plain `cc src/*.c` build works).
src/rules_seed.c: models/rules/seed.yaml tools/embed.sh
	sh tools/embed.sh lr__rules_seed_yaml models/rules/seed.yaml > $@.tmp && mv $@.tmp $@

$(BUILD)/liblogrisk.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/logrisk: $(CLI_OBJ) $(BUILD)/logrisk-model.o $(BUILD)/liblogrisk.a
	$(CC) $(LDFLAGS) $(CLI_OBJ) $(BUILD)/logrisk-model.o $(BUILD)/liblogrisk.a $(LDLIBS) -o $@

# The built-in model (src/model_builtin.[cS]; docs/building.md, "Static
# binary and the built-in model"): the file MODEL names is embedded when it exists. Only a
# program linked with DIR/logrisk-model.o carries it (the CLI; not the
# library or the tests). DIR/model-path records which file went in and is
# rewritten only when that changes, so a new MODEL, or a new model file,
# reassembles the object and relinks the CLI. The default is the q8 copy of
# the f32 master models/logrisk-mini.f32.lrm (`make builtin` writes it).
MODEL      ?= models/logrisk-mini.lrm
MODEL_LRM  := $(abspath $(if $(MODEL),$(wildcard $(MODEL))))
MODEL_DEFS := $(if $(MODEL_LRM),-DLR_MODEL_FILE='"$(MODEL_LRM)"' -DLR_MODEL_NAME='"$(notdir $(MODEL_LRM))"')

%/model-path: lr-force
	@mkdir -p $(dir $@)
	@echo '$(MODEL_LRM)' | cmp -s - $@ 2>/dev/null || echo '$(MODEL_LRM)' > $@

%/logrisk-model.o: src/model_builtin.S %/model-path $(MODEL_LRM)
	$(CC) $(MODEL_DEFS) -c $< -o $@

lr-force: ;
.PRECIOUS: %/model-path

$(BUILD)/tests/%: tests/%.c $(BUILD)/liblogrisk.a tests/t.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $< $(BUILD)/liblogrisk.a $(LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/bench/%: bench/%.c $(BUILD)/liblogrisk.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(BUILD)/liblogrisk.a $(LDFLAGS) $(LDLIBS) -o $@

deps:
	@bash tools/deps.sh build

run: deps all
	$(BUILD)/logrisk score -i models/samples/sample_logs.log

# The built-in default model from the public logs (docs/training.md).
model: $(BUILD)/logrisk
	bash tools/make_model.sh $(BUILD)/logrisk $(BUILD)/model

# The built-in model as the q8 copy of its f32 master (docs/default-model.md).
builtin: $(BUILD)/logrisk
	bash tools/make_builtin.sh $(BUILD)/logrisk

test: all $(TESTS)
	@bash tests/run.sh $(BUILD)

bench: all $(BENCHES)
	@bash bench/run.sh $(BUILD)

# Only build the bench programs (e.g. to run one bench/*.bench.sh by hand).
bench-binaries: $(BENCHES)

sanitize:
	$(MAKE) BUILD=build-san OPT="-O1" \
	    SANITIZER="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

valgrind: all $(TESTS)
	@LR_VALGRIND=1 bash tests/run.sh $(BUILD)

fuzz:
	@FUZZ_MERGE='$(FUZZ_MERGE)' bash tests/fuzz/run.sh '$(FUZZ_TIME)' '$(FUZZ_TARGETS)'

# Static binaries (static glibc: docs/building.md, "Static binary and the
# built-in model"). The host's is the library as built, linked with -static; arm64's
# is a cross build of everything with $(CROSS_ARM64)gcc (tools/deps.sh test)
# and Debian's arm64 .a files, when that compiler is installed.
STATIC       ?= build-static
STATIC_ARM64 ?= build-static-arm64
CROSS_ARM64  ?= aarch64-linux-gnu-
STATIC_LDFLAGS ?= -static -s

static: $(STATIC)/logrisk
ifneq ($(ARCH),aarch64)
	@if command -v $(CROSS_ARM64)gcc >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory CC=$(CROSS_ARM64)gcc AR=$(CROSS_ARM64)ar \
	        BUILD=$(STATIC_ARM64) LDFLAGS="$(STATIC_LDFLAGS)" SANITIZER= $(STATIC_ARM64)/logrisk; \
	else \
	    echo "make static: no $(CROSS_ARM64)gcc, arm64 binary not built (bash tools/deps.sh test)"; \
	fi
endif
	@ls -l $(STATIC)/logrisk; [ ! -f $(STATIC_ARM64)/logrisk ] || ls -l $(STATIC_ARM64)/logrisk
	@[ -n "$(MODEL_LRM)" ] || echo "make static: no model file '$(MODEL)': these binaries have no built-in model"

$(STATIC)/logrisk: $(CLI_OBJ) $(STATIC)/logrisk-model.o $(BUILD)/liblogrisk.a
	@mkdir -p $(dir $@)
	$(CC) $(STATIC_LDFLAGS) $(LDFLAGS) $(CLI_OBJ) $(STATIC)/logrisk-model.o $(BUILD)/liblogrisk.a $(LDLIBS) -o $@

# The man page, built from the help texts the binary prints (deploy/man.sh).
man: $(BUILD)/logrisk.1

$(BUILD)/logrisk.1: $(BUILD)/logrisk deploy/man.sh
	sh deploy/man.sh $(BUILD)/logrisk > $@.tmp && mv $@.tmp $@

install: all man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/logrisk $(DESTDIR)$(PREFIX)/bin/logrisk
	install -m 644 $(BUILD)/liblogrisk.a $(DESTDIR)$(PREFIX)/lib/liblogrisk.a
	install -m 644 include/logrisk.h $(DESTDIR)$(PREFIX)/include/logrisk.h
	install -m 644 $(BUILD)/logrisk.1 $(DESTDIR)$(PREFIX)/share/man/man1/logrisk.1

clean:
	rm -rf build build-san build-static build-static-arm64 build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
