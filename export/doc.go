// Package export writes named call trees in the formats other tools read:
// JSON Lines for jq and scripts, a Perfetto trace (protobuf TrackEvents)
// for its UI and trace processor, and Parquet tables for DuckDB, Spark,
// Trino or ClickHouse. docs/export.md gives each format's schema.
//
// A Task is one traced task: its trace file's metadata and its call tree
// with the names and types that render its values. A follow-mode trace
// (docs/follow.md) gives a Task per task and per program it ran, each with
// a Thread (its tid, process, parent and name), which the writers carry:
// tid columns, Perfetto processes and threads. Every writer takes the
// tasks of one export and walks each tree once; none keeps more than a
// call's rendered values at a time, except Perfetto's value flows, which
// are found in a first pass.
package export
