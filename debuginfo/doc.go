// Package debuginfo turns kernel addresses into names: functions, source
// lines, parameters with their types, struct members with their bit
// positions, enumerators. It reads DWARF (per compile unit, in parallel),
// BTF, ELF symbol tables and System.map or kallsyms text, moves addresses
// between the link-time and the traced boot's address space by one rule
// (see Space), checks build ids, derives v1 field tables from DWARF, and
// caches what it read on disk by build id.
//
// Every address kept in an Index is a link-time address; a traced pc is
// turned into one by Space.Link before any lookup. An Index knows where
// each function is declared; Lines reads the DWARF line table for the
// line of any address.
package debuginfo
