// Package report writes a trace's named call trees as one self-contained
// HTML page for a person to explore: a call tree per task that expands on
// demand, search by function name, by value and by errno, per-function
// statistics (calls, errors, distinct values of every argument and
// field), value histograms (the most frequent values, and log2 buckets
// for values that range widely), an errno summary and the capture
// metadata. The page loads nothing: its style, script and data (compact
// JSON, one column per property of a call, each value text stored once)
// are inline, and its content security policy forbids any request.
package report
