// Compiled with -ffp-contract=off (CMakeLists.txt): the score must round as
// SQLite's own bm25 does, so no multiply-add may be fused into one rounding.
#include "jobs/catalog/fts_rank.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace beamflow::catalog::detail {
namespace {

// What bm25 computes once a query (fts5Bm25GetData in SQLite's
// fts5_aux.c): the mean row length and each phrase's IDF.
struct QueryData {
  double avgdl = 0;
  std::vector<double> idf;
  std::vector<double> freq;  // per row, reused
};

int count_row(const Fts5ExtensionApi*, Fts5Context*, void* n) {
  ++*static_cast<sqlite3_int64*>(n);
  return SQLITE_OK;
}

int query_data(const Fts5ExtensionApi* api, Fts5Context* fts, QueryData** out) {
  if ((*out = static_cast<QueryData*>(api->xGetAuxdata(fts, 0)))) return SQLITE_OK;
  auto* d = new QueryData;
  const int phrases = api->xPhraseCount(fts);
  d->idf.resize(static_cast<std::size_t>(phrases));
  d->freq.resize(static_cast<std::size_t>(phrases));
  sqlite3_int64 rows = 0, tokens = 0;
  int rc = api->xRowCount(fts, &rows);
  if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &tokens);
  if (rc == SQLITE_OK) d->avgdl = static_cast<double>(tokens) / static_cast<double>(rows);
  for (int i = 0; rc == SQLITE_OK && i < phrases; ++i) {
    sqlite3_int64 hits = 0;
    rc = api->xQueryPhrase(fts, i, &hits, count_row);
    if (rc == SQLITE_OK) {
      double idf = std::log((static_cast<double>(rows - hits) + 0.5) / (static_cast<double>(hits) + 0.5));
      if (idf <= 0.0) idf = 1e-6;
      d->idf[static_cast<std::size_t>(i)] = idf;
    }
  }
  if (rc == SQLITE_OK) rc = api->xSetAuxdata(fts, d, [](void* p) { delete static_cast<QueryData*>(p); });
  else delete d;
  *out = rc == SQLITE_OK ? d : nullptr;
  return rc;
}

// The sum of a document-size record's varints (SQLite's varint format, as
// fts5StorageDecodeSizeArray reads it), if it holds exactly `columns`.
bool record_tokens(sqlite3_value* v, int columns, int* total) {
  if (sqlite3_value_type(v) != SQLITE_BLOB) return false;
  const auto* p = static_cast<const unsigned char*>(sqlite3_value_blob(v));
  const int n = sqlite3_value_bytes(v);
  int at = 0, sum = 0;
  for (int c = 0; c < columns; ++c) {
    std::uint64_t x = 0;
    int k = 0;
    for (;; ++k) {
      if (at >= n || k == 9) return false;
      const unsigned char b = p[at++];
      if (k == 8) {
        x = (x << 8) | b;
        break;
      }
      x = (x << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    sum += static_cast<int>(static_cast<std::uint32_t>(x));  // fts5GetVarint32 keeps the low 32 bits
  }
  if (at != n) return false;
  *total = sum;
  return true;
}

// beamflow_bm25(fts, size, weights...): fts5Bm25Function's arithmetic in
// its order, D from `size`.
void bm25(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int nval, sqlite3_value** args) {
  const double k1 = 1.2;
  const double b = 0.75;
  QueryData* d = nullptr;
  int rc = query_data(api, fts, &d);
  int inst = 0;
  if (rc == SQLITE_OK) {
    std::fill(d->freq.begin(), d->freq.end(), 0.0);
    rc = api->xInstCount(fts, &inst);
  }
  const int weights = nval - 1;
  for (int i = 0; rc == SQLITE_OK && i < inst; ++i) {
    int phrase = 0, column = 0, offset = 0;
    rc = api->xInst(fts, i, &phrase, &column, &offset);
    if (rc == SQLITE_OK)
      d->freq[static_cast<std::size_t>(phrase)] += weights > column ? sqlite3_value_double(args[1 + column]) : 1.0;
  }
  double D = 0.0;
  if (rc == SQLITE_OK) {
    int tokens = 0;
    if (nval < 1 || !record_tokens(args[0], api->xColumnCount(fts), &tokens)) rc = api->xColumnSize(fts, -1, &tokens);
    D = static_cast<double>(tokens);
  }
  double score = 0.0;
  for (std::size_t i = 0; rc == SQLITE_OK && i < d->idf.size(); ++i)
    score += d->idf[i] * ((d->freq[i] * (k1 + 1.0)) / (d->freq[i] + k1 * (1 - b + b * D / d->avgdl)));
  if (rc == SQLITE_OK) sqlite3_result_double(ctx, -1.0 * score);
  else sqlite3_result_error_code(ctx, rc);
}

}  // namespace

bool register_fts_rank(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &s, nullptr) == SQLITE_OK) {
    sqlite3_bind_pointer(s, 1, &api, "fts5_api_ptr", nullptr);
    sqlite3_step(s);
  }
  sqlite3_finalize(s);
  return api && api->xCreateFunction(api, "beamflow_bm25", nullptr, bm25, nullptr) == SQLITE_OK;
}

}  // namespace beamflow::catalog::detail
