// Package query runs SQL over the Parquet tables of package export with
// an embedded DuckDB. DuckDB is C++: the package needs a cgo build, and
// without one Run says so (the kcovdf that the lab puts in its guest is
// built without cgo, to stay static).
package query
