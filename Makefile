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

e2e:
	sh lab/e2e.sh

demo: build
	./kcovdf sim -o demo.kdf --layout-out demo.layout.jsonl
	./kcovdf stats --layout demo.layout.jsonl demo.kdf
	./kcovdf decode --layout demo.layout.jsonl demo.kdf | head -20

bench:
	$(GO) test -run '^$$' -bench . -count 5 ./abi
	bash bench/decode-vs-c.sh

fuzz:
	for t in FuzzDecode FuzzParseTrace FuzzReadLayout FuzzReadSymbols; do \
		$(GO) test ./abi -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done
