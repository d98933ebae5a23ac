# kcovdf: `make demo` runs the main job, `make test` runs every test.
GO ?= go
FUZZTIME ?= 60s
FUZZTIME_SHORT ?= 5s

.PHONY: all build test unit plugin-test e2e demo bench fuzz fuzz-short

all: build

build:
	$(GO) build -o kcovdf ./cmd/kcovdf

# Everything CI runs: Go tests, the compiler plugin's tests, and the lab's
# end-to-end tests against real kernels under QEMU.
test: unit plugin-test e2e

unit:
	$(GO) vet ./...
	$(GO) test ./...
	$(MAKE) fuzz-short

plugin-test:
	$(MAKE) -C compiler test

# The lab's end-to-end tests (plain and KASAN kernels): the selftest, then
# conformance, a stress run and an exact trace of a real command.
KCOVDF_E2E_KASAN ?= 1
e2e:
	KCOVDF_E2E_KASAN=$(KCOVDF_E2E_KASAN) sh internal/lab/e2e.sh
	KCOVDF_E2E=1 KCOVDF_E2E_NAMES=1 KCOVDF_E2E_KASAN=$(KCOVDF_E2E_KASAN) $(GO) test -count=1 -timeout 60m -v ./e2e

# A real trace from a real kernel: build (or find cached) and boot the lab
# kernel, trace cat in it, and summarise the trace decoded exactly.
demo: build
	./kcovdf lab trace -o demo.kdf -- cat /etc/passwd
	./kcovdf lab build >demo.kernel
	./kcovdf stats --top 15 --symbols "$$(awk '$$1=="vmlinux"{print $$2}' demo.kernel)" demo.kdf
	./kcovdf show --max-fields 3 --func '^(do_sys_openat2|do_sendfile)$$' --depth 2 \
		--symbols "$$(awk '$$1=="vmlinux"{print $$2}' demo.kernel)" demo.kdf

bench:
	$(GO) test -run '^$$' -bench . -count 5 ./abi
	bash bench/decode-vs-c.sh
	bash bench/decode-v3-vs-c.sh

# Every fuzz target of every package, FUZZTIME each (make fuzz), or a few
# seconds each as part of make test (fuzz-short), so that an input that
# crashes a parser is found before it lands. Crashers go to the package's
# testdata/fuzz, which plain go test replays.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

fuzz-short:
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME_SHORT)
