# libFuzzer targets for the parsers that read disks and reports (tests/fuzz/fuzz_*.c).
# `make fuzz` runs each briefly (FUZZ_SECONDS) from its committed corpus, which also holds every
# crash input found so far as a regression case; `make check` includes it.
FUZZ_SECONDS ?= 12
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SRCS := lib/util.c lib/escape.c lib/inroot.c lib/fstype.c discover/fstab.c discover/json.c \
	discover/bootspec.c report/record.c report/found.c report/select.c discover/plan.c \
	discover/blockdev.c discover/nixos.c
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I.

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_SRCS) $(HDRS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $< $(FUZZ_SRCS) -lblkid -o $@

# Each run: new inputs go to a scratch corpus in $(BUILD); the committed one is only read.
# A crash leaves $(BUILD)/fuzz/crash-<target>-*: copy it into tests/fuzz/corpus/<target>/.
fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
	@set -e; for t in $(FUZZ_TARGETS); do \
		n=$${t#fuzz_}; mkdir -p $(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		ASAN_OPTIONS=detect_leaks=1 $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
			-max_len=8192 -timeout=10 -rss_limit_mb=1024 -print_final_stats=0 \
			-artifact_prefix=$(BUILD)/fuzz/crash-$$n- \
			$(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n 2>$(BUILD)/fuzz/$$t.log \
			|| { tail -40 $(BUILD)/fuzz/$$t.log; exit 1; }; \
		tail -1 $(BUILD)/fuzz/$$t.log; \
	done

check: fuzz
