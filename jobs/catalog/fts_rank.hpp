// FTS5's bm25 ranking, with each row's length passed in instead of read.
#pragma once

struct sqlite3;

namespace beamflow::catalog::detail {

// Registers the FTS5 auxiliary function beamflow_bm25(fts, size, w0, w1,
// ...) on `db`: the value FTS5's bm25(fts, w0, w1, ...) gives the row, bit
// for bit, where `size` is the row's FTS5 document-size record (its
// fts_docsize `sz`: a varint token count per column) as live_entries keeps
// it. bm25 reads that record from fts_docsize for every hit, a b-tree probe
// of its own at a random place; a search reads the hit's live_entries row
// anyway. A NULL or malformed `size` makes it ask FTS5 as bm25 does.
// False if `db` has no FTS5.
bool register_fts_rank(sqlite3* db);

}  // namespace beamflow::catalog::detail
