# libFuzzer targets for the parsers that read disks and reports (tests/fuzz/fuzz_*.c).
# `make fuzz` runs each briefly (FUZZ_SECONDS) from its committed corpus, which also holds every
# crash input found so far as a regression case; `make check` includes it.
FUZZ_SECONDS ?= 12
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
# The targets of act/ and present/ reach most of the program: every target links all of it,
# as the tree has it (every source folder but the applets' entry points).
FUZZ_SRCS := $(filter-out applets/%,$(LIBSRCS))
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I.

# The program's sources are compiled once (instrumented for coverage, without libFuzzer's main)
# and linked into every target.
FUZZ_OBJS := $(FUZZ_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
# Kept between runs (make would delete them as intermediates of the targets' pattern rule).
.SECONDARY: $(FUZZ_OBJS)
$(BUILD)/fuzz/obj/%.o: %.c $(HDRS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	clang $(subst fuzzer,fuzzer-no-link,$(FUZZ_CFLAGS)) -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS) $(wildcard tests/fuzz/*.h) $(HDRS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $< $(FUZZ_OBJS) -lblkid -llzma -o $@

# Each run: new inputs go to a scratch corpus in $(BUILD); the committed one is only read.
# A crash leaves $(BUILD)/fuzz/crash-<target>-*: copy it into tests/fuzz/corpus/<target>/.
# Every target runs even after one fails; each one's verdict goes to the tally.
fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
	@mkdir -p $(TALLY); : > $(TALLY)/fuzz.txt; failed=0; for t in $(FUZZ_TARGETS); do \
		n=$${t#fuzz_}; mkdir -p $(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		if ASAN_OPTIONS=detect_leaks=1 $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
			-max_len=8192 -timeout=10 -rss_limit_mb=1024 -print_final_stats=0 \
			-artifact_prefix=$(BUILD)/fuzz/crash-$$n- \
			$(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n 2>$(BUILD)/fuzz/$$t.log; then \
			tail -1 $(BUILD)/fuzz/$$t.log; echo "pass $$t" >> $(TALLY)/fuzz.txt; \
		else tail -40 $(BUILD)/fuzz/$$t.log; echo "fail $$t" >> $(TALLY)/fuzz.txt; failed=1; fi; \
	done; exit $$failed

# An hour per target, on demand (ten targets: ten hours; FUZZ_LONG_SECONDS= changes it).
FUZZ_LONG_SECONDS ?= 3600
#help fuzz             every libFuzzer target briefly (FUZZ_SECONDS) from its corpus
#help fuzz-long        the same for an hour per target
.PHONY: fuzz-long
fuzz-long:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_LONG_SECONDS)

check: fuzz
