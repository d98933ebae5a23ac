# What the Go-against-C decode scripts share; sourced, not run. It sets
# runs, words, rounds (RUNS, WORDS, ROUNDS; defaults 11, 16 M words, 3),
# a work directory removed on exit, and $work/kcovdf built from this tree.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-11}
words=${WORDS:-16777216}
rounds=${ROUNDS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/kcovdf" ./cmd/kcovdf

# gbs reads the GB/s figure of a decode line.
gbs() { sed -n 's/.* \([0-9.]*\) GB\/s.*/\1/p'; }

# same_records C GO: both sides must have decoded the same records, or the
# times compare different work.
same_records() {
	local c go
	c=$(sed -n 's/.*: \([0-9]*\) records,.*/\1/p' <<<"$1")
	go=$(sed -n 's/.*: \([0-9]*\) records,.*/\1/p' <<<"$2")
	if [ -z "$c" ] || [ "$c" != "$go" ]; then
		printf 'C and Go decoded different record counts:\n%s\n%s\n' "$1" "$2" >&2
		exit 1
	fi
}

# medians 'C|Go|...' FILE: FILE has a line a round, one GB/s figure per
# label, C first and Go second. Prints the Go/C time ratio of each round,
# then the median of each column and of the ratio.
medians() {
	awk -v n="$rounds" -v labels="$1" '
		BEGIN { m = split(labels, lab, "|") }
		{ for (i = 1; i <= m; i++) v[i, NR] = $i; q[NR] = $1 / $2 }
		function med(a,   i, j, t) {
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		END {
			printf "Go/C time ratio by round:"; for (r = 1; r <= n; r++) printf " %.2f", q[r]; print ""
			printf "medians of %d rounds:", n
			for (i = 1; i <= m; i++) {
				for (r = 1; r <= n; r++) col[r] = v[i, r]
				printf " %s %.2f GB/s,", lab[i], med(col)
			}
			printf " Go/C time ratio %.2f\n", med(q)
		}' "$2"
}
