# kcovdf: `make demo` runs the main job, `make test` runs every test.
GO ?= go
FUZZTIME ?= 60s

.PHONY: all build test unit plugin-test e2e demo bench fuzz lint

all: build

build:
	$(GO) build -o kcovdf ./cmd/kcovdf

# Everything CI runs: Go tests, the compiler plugin's tests, and the lab's
# end-to-end tests against real kernels under QEMU.
test: unit plugin-test e2e

unit:
	$(GO) vet ./...
	$(GO) test ./...

plugin-test:
	$(MAKE) -C compiler test

# The lab's end-to-end tests (plain and KASAN kernels): the selftest, then
# conformance, a stress run and an exact trace of a real command.
KCOVDF_E2E_KASAN ?= 1
e2e:
	KCOVDF_E2E_KASAN=$(KCOVDF_E2E_KASAN) sh internal/lab/e2e.sh
	KCOVDF_E2E=1 KCOVDF_E2E_KASAN=$(KCOVDF_E2E_KASAN) $(GO) test -count=1 -timeout 60m -v ./e2e

# A real trace from a real kernel: build (or find cached) and boot the lab
# kernel, trace cat in it, and summarise the trace decoded exactly.
demo: build
	./kcovdf lab trace -o demo.kdf -- cat /etc/passwd
	./kcovdf lab build >demo.kernel
	./kcovdf stats --top 15 --layout "$$(awk '$$1=="layout"{print $$2}' demo.kernel)" \
		--symbols "$$(awk '$$1=="vmlinux"{print $$2}' demo.kernel)" demo.kdf
	./kcovdf show --max-fields 3 --func '^(do_sys_openat2|do_sendfile)$$' --depth 2 \
		--layout "$$(awk '$$1=="layout"{print $$2}' demo.kernel)" \
		--symbols "$$(awk '$$1=="vmlinux"{print $$2}' demo.kernel)" demo.kdf

bench:
	$(GO) test -run '^$$' -bench . -count 5 ./abi
	bash bench/decode-vs-c.sh

fuzz:
	for t in FuzzDecode FuzzParseTrace FuzzReadLayout; do \
		$(GO) test ./abi -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done
	for t in FuzzReadSymbols FuzzNoteBuildID FuzzOpenELF; do \
		$(GO) test ./debuginfo -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done
