#!/bin/sh
# End-to-end test of the lab: build (or reuse from the cache) the plain and
# the KASAN + lockdep kernels, boot each under QEMU, run the kcov dataflow
# selftest in the guest and check the serial console is clean.
#
#   internal/lab/e2e.sh                      # both kernels
#   KCOVDF_E2E_KASAN=0 internal/lab/e2e.sh   # plain kernel only
#
# Cold (nothing cached): two kernel builds of about 5 minutes each on 2
# cores. Warm: about a minute. The cache is $KCOVDF_CACHE,
# $XDG_CACHE_HOME/kcovdf or ~/.cache/kcovdf.
set -eu
cd "$(dirname "$0")/../.."
KCOVDF_E2E=1
: "${KCOVDF_E2E_KASAN:=1}"
export KCOVDF_E2E KCOVDF_E2E_KASAN
exec go test -count=1 -timeout 60m -run '^TestE2E' -v ./internal/lab "$@"
