#!/bin/sh
# Sums the plugin's -kcovdf-dataflow-stats lines of a build log (kbuild with
# KCOV_DATAFLOW_STATS=1) into one line per counter.
#
# usage: compiler/tests/sum-stats.sh BUILD_LOG
[ -r "$1" ] || { echo "usage: $0 BUILD_LOG" >&2; exit 2; }
grep -q 'kcovdf-dataflow: .*: functions ' "$1" ||
	{ echo "$1: no -kcovdf-dataflow-stats lines (build with KCOV_DATAFLOW_STATS=1)" >&2; exit 1; }
grep -o 'kcovdf-dataflow: .*: functions .*' "$1" | awk '
{
	modules++
	line = $0
	sub(/^kcovdf-dataflow: [^:]*: /, "", line)
	n = split(line, w, /[ ,;()]+/)
	# Counters come as "name value" pairs; "skipped values:" starts the
	# reasons, and the first "skipped" of each group is its total.
	group = ""
	for (i = 1; i < n; i++) {
		if (w[i] == "args" || w[i] == "rets" || w[i] == "functions") {
			group = w[i]
			sum[group] += w[i + 1]
			i++
			continue
		}
		if (w[i] == "values:") {
			group = "why"
			continue
		}
		if (w[i] == "no" && w[i + 1] == "debug") {
			sum[group " no debug info"] += w[i + 3]
			i += 3
			continue
		}
		if (w[i + 1] ~ /^[0-9]+$/) {
			sum[group " " w[i]] += w[i + 1]
			i++
		}
	}
}
END {
	printf "modules %d\n", modules
	for (k in sum)
		printf "%s %d\n", k, sum[k]
}' | sort
