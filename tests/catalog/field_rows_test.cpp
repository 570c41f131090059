// A batch's field rows in the fields key's order (backend_support.hpp).
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "jobs/catalog/backend_support.hpp"

namespace beamflow::catalog::detail {
namespace {

TEST(CatalogFieldRows, ABatchsRowsAreSortedByFieldThenEntryThenText) {
  auto row = [](const char* field, std::int64_t entry, const char* text, double number) {
    return FieldRow{entry, IndexedField{field, text, true, number}};
  };
  std::vector<FieldRow> rows = {row("version", 2, "1", 1),     row("published", 2, "2024-01-02", 10),
                                row("version", 1, "1", 1),     row("dc.year", 3, "2020", 2020),
                                row("published", 1, "2024-01-01", 9), row("dc.year", 1, "2021", 2021),
                                row("dc.year", 1, "2019", 2019), row("published", 2, "2024-01-01", 9),
                                row("Z", 5, "b", 0),           row("Z", 5, "a", 0)};
  sort_field_rows(rows);
  std::vector<std::tuple<std::string, std::int64_t, std::string, double>> got;
  for (const auto& r : rows) got.emplace_back(r.field.field, r.entry, r.field.text, r.field.number);
  const decltype(got) want = {{"Z", 5, "a", 0},
                              {"Z", 5, "b", 0},
                              {"dc.year", 1, "2019", 2019},
                              {"dc.year", 1, "2021", 2021},
                              {"dc.year", 3, "2020", 2020},
                              {"published", 1, "2024-01-01", 9},
                              {"published", 2, "2024-01-01", 9},
                              {"published", 2, "2024-01-02", 10},
                              {"version", 1, "1", 1},
                              {"version", 2, "1", 1}};
  EXPECT_EQ(got, want);
  std::vector<FieldRow> none;
  sort_field_rows(none);
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace beamflow::catalog::detail
