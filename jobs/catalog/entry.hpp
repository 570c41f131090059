#pragma once
// One version of a published dataset as the catalog stores it, and the
// search index terms derived from it (a pure function, shared by the
// backends so both index exactly the same things).
#include <cstdint>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace beamflow::catalog {

enum class EntryStatus { Pending, Published, Rejected, Withdrawn };
const char* to_string(EntryStatus s) noexcept;  // "pending", "published", ...
EntryStatus status_from_string(const std::string& s);

struct Entry {
  std::int64_t row = 0;       // the backend's row id (0 before ingest)
  std::string identifier;     // "ark:/99999/bf0001x"
  int version = 1;            // 1, 2, ... per identifier
  std::string collection = "default";
  EntryStatus status = EntryStatus::Published;
  std::string owner;          // Unix user who published
  std::vector<std::string> visible_to;  // principals: public, user:x, group:y
  Json content;               // {"dc": ..., "domain": ..., "extracted": ...}
  std::string location;       // the bag's directory
  std::string manifest_digest;
  std::uint64_t bytes = 0;
  std::uint64_t files = 0;
  std::int64_t published_ms = 0;
  std::string request_id;     // the action_id or CLI request that created it (idempotency)
  std::string reason;         // why withdrawn or rejected
  std::string decided_by;     // curator who approved or rejected
};

// One searchable value: a leaf of the content at a dotted path with array
// indices dropped ("dc.creators.name", "domain.elements").
struct IndexedField {
  std::string field;
  std::string text;    // the value as text (numbers in shortest form); dates ISO
  bool has_number = false;
  double number = 0;   // numbers; dates as days since 1970-01-01
};

struct IndexTerms {
  std::string title;          // the first dc title
  int year = 0;               // dc.publicationYear
  std::string text;           // every text leaf, tokenised and joined by spaces
  std::vector<IndexedField> fields;
};

IndexTerms index_terms(const Entry& entry);

// The text values (strings of at most 256 bytes, booleans as "true" or
// "false") that index_terms lists for `field` of a content document;
// numbers are left out. Since schema version 4 only numbers and dates have
// field rows: a wildcard filter on a text field checks these.
std::vector<std::string> text_values(const Json& content, const std::string& field);
// Every value index_terms lists for `field` of an entry (numbers, dates and
// the catalog's own fields included), without tokenising its text: what
// names a terms facet's bucket and checks a returned entry's exact filters.
std::vector<std::string> field_values(const Entry& entry, const std::string& field);

// The content a search hit or describe shows: the stored content plus the
// catalog's own fields (identifier, version, collection, status, files,
// bytes, published, location, visible_to).
Json entry_document(const Entry& entry);

}  // namespace beamflow::catalog
