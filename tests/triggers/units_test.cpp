// The pure parts of triggers: templates, submission ids, timer instants,
// globs and periods, and registrations stored in a pilot directory.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "../support/expect_error.hpp"
#include "../support/scratch_dir.hpp"
#include "triggers/event.hpp"
#include "triggers/registration.hpp"

namespace beamflow::triggers {
namespace {

using test::expect_error;

Registration watch_registration(const std::filesystem::path& dir) {
  Registration r;
  r.id = "scans";
  r.watch_dir = dir;
  r.pattern = "*.h5";
  r.endpoint = "beamline";
  r.definition = Json{{"StartAt", "A"}, {"States", {{"A", {{"Type", "Succeed"}}}}}};
  r.input_template = Json{{"file", "{{path}}"},
                          {"transfer", {{"source_path", "{{relative_path}}"}, {"note", "{{name}} of {{size}} B at {{endpoint}}"}}},
                          {"size", "{{size}}"},
                          {"items", Json::array({"{{stem}}", "{{unknown}}", "{{"})},
                          {"n", 3}};
  return r;
}

TEST(TriggerTemplate, FillsEveryPlaceholderKeepsNumbersAndUnknownText) {
  test::ScratchDir dir;
  const auto r = watch_registration(dir.path());
  FileEvent e{dir.path().string() + "/sub/scan_01.h5", "sub/scan_01.h5", 64, 1234, 4096, 1700000000123456789};
  const Json in = file_input(r, e);
  EXPECT_EQ(in["file"], e.path);
  EXPECT_EQ(in["transfer"]["source_path"], "sub/scan_01.h5");
  EXPECT_EQ(in["transfer"]["note"], "scan_01.h5 of 4096 B at beamline");
  EXPECT_EQ(in["size"], 4096);  // exactly one numeric placeholder: a number
  EXPECT_EQ(in["items"], Json::array({"scan_01", "{{unknown}}", "{{"}));
  EXPECT_EQ(in["n"], 3);
  const Json t = timer_input(r, 1700000000000);
  EXPECT_EQ(t["transfer"]["note"], "{{name}} of {{size}} B at {{endpoint}}");
}

TEST(TriggerIds, SameFileSameIdAnyChangeANewOne) {
  test::ScratchDir dir;
  const auto r = watch_registration(dir.path());
  const FileEvent e{"/x/a.h5", "a.h5", 1, 2, 3, 4};
  const std::string id = file_submission_id(r, e);
  EXPECT_EQ(id, file_submission_id(r, FileEvent{"/x/moved.h5", "moved.h5", 1, 2, 3, 4}));  // a rename
  for (auto changed : {FileEvent{"/x/a.h5", "a.h5", 9, 2, 3, 4}, FileEvent{"/x/a.h5", "a.h5", 1, 9, 3, 4},
                       FileEvent{"/x/a.h5", "a.h5", 1, 2, 9, 4}, FileEvent{"/x/a.h5", "a.h5", 1, 2, 3, 9}})
    EXPECT_NE(id, file_submission_id(r, changed));
  EXPECT_EQ(id.rfind("scans.f", 0), 0u);
  EXPECT_EQ(timer_submission_id(r, 1234), "scans.t1234");
}

// file_event takes the relative path as the text after watch_dir's own
// (no lexically_relative parse per file): only at a component boundary, and
// a path it cannot cut so is still made relative the long way.
TEST(TriggerEvent, TheRelativePathIsCutAtTheWatchedDirectoryOnly) {
  Registration r;
  r.id = "scans";
  r.watch_dir = "/data/drop";
  struct stat st {};
  st.st_dev = 7;
  st.st_ino = 8;
  st.st_size = 9;
  st.st_mtim.tv_sec = 10;
  st.st_mtim.tv_nsec = 11;
  const FileEvent e = file_event(r, "/data/drop/sub/a.h5", st);
  EXPECT_EQ(e.path, "/data/drop/sub/a.h5");
  EXPECT_EQ(e.relative_path, "sub/a.h5");
  EXPECT_EQ(e.device, 7u);
  EXPECT_EQ(e.inode, 8u);
  EXPECT_EQ(e.size, 9u);
  EXPECT_EQ(e.mtime_ns, 10000000011);
  // A sibling sharing the text "/data/drop" is not inside it.
  EXPECT_EQ(file_event(r, "/data/drop2/a.h5", st).relative_path, "../drop2/a.h5");
  r.watch_dir = "/data/drop/";  // as registered with a trailing slash
  EXPECT_EQ(file_event(r, "/data/drop/a.h5", st).relative_path, "a.h5");
  // The input made with the id the hand-off made is the input made without.
  r.input_template = Json{{"id", "{{submission_id}}"}, {"rel", "{{relative_path}}"}};
  const FileEvent f = file_event(r, "/data/drop/a.h5", st);
  EXPECT_EQ(file_input(r, f, file_submission_id(r, f)), file_input(r, f));
  EXPECT_EQ(file_input(r, f)["id"], file_submission_id(r, f));
}

// Each placeholder's value is made only when the template names it: pin
// every name, its type alone and its text inside a string.
TEST(TriggerTemplate, EveryPlaceholderHasItsValueAloneAndInText) {
  Registration r;
  r.id = "scans";
  r.watch_dir = "/data/drop";
  r.endpoint = "beamline";
  Json templ = Json::object();
  for (const char* k : {"path", "relative_path", "name", "stem", "dir", "size", "mtime", "mtime_ms", "endpoint",
                        "registration", "submission_id", "instant", "instant_ms", "nothing"}) {
    templ[k] = std::string("{{") + k + "}}";
    templ[std::string("in_") + k] = std::string("<{{") + k + "}}>";
  }
  r.input_template = templ;
  const FileEvent e{"/data/drop/sub/.hidden", "sub/.hidden", 1, 2, 3, 1700000000123456789};
  const Json in = file_input(r, e);
  const std::string id = file_submission_id(r, e);
  const Json want{{"path", "/data/drop/sub/.hidden"}, {"relative_path", "sub/.hidden"}, {"name", ".hidden"},
                  {"stem", ".hidden"},  // a leading dot is no extension
                  {"dir", "/data/drop/sub"}, {"size", 3}, {"mtime", "2023-11-14T22:13:20.123Z"},
                  {"mtime_ms", 1700000000123}, {"endpoint", "beamline"}, {"registration", "scans"},
                  {"submission_id", id}, {"instant", "{{instant}}"}, {"instant_ms", "{{instant_ms}}"},
                  {"nothing", "{{nothing}}"}};
  for (const auto& [k, v] : want.items()) {
    EXPECT_EQ(in[k], v) << k;
    EXPECT_EQ(in["in_" + k], "<" + (v.is_string() ? v.get<std::string>() : v.dump()) + ">") << k;
  }
  EXPECT_EQ(file_input(r, FileEvent{"/data/drop/a.tar.gz", "a.tar.gz", 1, 2, 3, 4})["stem"], "a.tar");
  const Json t = timer_input(r, 1700000000000);
  EXPECT_EQ(t["instant"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(t["instant_ms"], 1700000000000);
  EXPECT_EQ(t["in_instant_ms"], "<1700000000000>");
  EXPECT_EQ(t["registration"], "scans");
  EXPECT_EQ(t["submission_id"], "scans.t1700000000000");
  EXPECT_EQ(t["path"], "{{path}}");
}

TEST(TriggerTimers, LastAndNextInstantsCoalesceAndNeverPrecedeTheRegistration) {
  Registration r;
  r.every_s = 600;
  r.registered_at_ms = 1000;
  EXPECT_EQ(last_instant(r, 1799999), 1200000);
  EXPECT_EQ(last_instant(r, 1800000), 1800000);
  EXPECT_EQ(next_instant(r, 1800000), 2400000);
  EXPECT_EQ(last_instant(r, 500), -1);  // before the registration: nothing due
  Registration daily;
  daily.at_minutes = {parse_time_of_day("06:30"), parse_time_of_day("18:00")};
  const std::int64_t day = 86400000, t0 = 20000 * day;
  daily.registered_at_ms = t0;
  EXPECT_EQ(last_instant(daily, t0 + 7 * 3600000), t0 + 390 * 60000);
  EXPECT_EQ(next_instant(daily, t0 + 7 * 3600000), t0 + 18 * 3600000);
  EXPECT_EQ(last_instant(daily, t0 + day + 60000), t0 + 18 * 3600000);  // 00:01 the next day
  EXPECT_EQ(last_instant(daily, t0 + 60000), -1);
}

TEST(TriggerParsing, PeriodsTimesAndGlobs) {
  EXPECT_EQ(parse_period("90"), 90);
  EXPECT_EQ(parse_period("10m"), 600);
  EXPECT_EQ(parse_period("2h"), 7200);
  EXPECT_EQ(parse_period("1d"), 86400);
  for (const char* bad : {"", "0", "-5m", "10x", "m"})
    expect_error([&] { parse_period(bad); }, "trigger.registration.invalid", {"--every"});
  for (const char* bad : {"24:00", "6:30", "06:60", "0630"})
    expect_error([&] { parse_time_of_day(bad); }, "trigger.registration.invalid", {"--at"});
  check_pattern("*.h5");
  check_pattern("scan_[0-9][!x]?.h5");
  check_pattern("a[]]b");
  expect_error([] { check_pattern("scan_[0-9.h5"); }, "trigger.registration.invalid", {"never closed"});
  expect_error([] { check_pattern("dir/*.h5"); }, "trigger.registration.invalid", {"'/'"});
  expect_error([] { check_pattern("x\\"); }, "trigger.registration.invalid", {"trailing"});
  expect_error([] { check_pattern(""); }, "trigger.registration.invalid", {"empty"});
}

TEST(TriggerRegistrations, IdempotentByIdConflictOnOtherContentOwnerOnlyFiles) {
  test::ScratchDir dir;
  const auto pilot = dir.path() / "pilot";
  const auto first = add(pilot, watch_registration(dir.path()));
  EXPECT_FALSE(first.existed);
  const auto again = add(pilot, watch_registration(dir.path()));
  EXPECT_TRUE(again.existed);
  EXPECT_EQ(again.registration.registered_at_ms, first.registration.registered_at_ms);
  auto other = watch_registration(dir.path());
  other.pattern = "*.hdf";
  expect_error([&] { add(pilot, other); }, "trigger.registration.conflict", {"scans"});
  ASSERT_EQ(list(pilot).size(), 1u);
  EXPECT_EQ(list(pilot)[0].pattern, "*.h5");
  struct stat st {};
  ASSERT_EQ(::stat((registrations_dir(pilot) / "scans.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(registrations_dir(pilot).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  remove(pilot, "scans");
  EXPECT_TRUE(list(pilot).empty());
  expect_error([&] { remove(pilot, "scans"); }, "trigger.registration.not_found", {"scans"});
}

}  // namespace
}  // namespace beamflow::triggers
