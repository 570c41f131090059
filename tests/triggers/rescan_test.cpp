// What a rescan hands over, in process: regular files matching the pattern,
// also in subdirectories of a recursive registration; never what a symlink
// names (a file or a directory, perhaps outside the watched tree), nor a
// fifo. The rescan takes each entry's type from readdir (watcher.cpp,
// add_tree), so this pins what that type decides.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "../support/scratch_dir.hpp"
#include "fixture.hpp"
#include "triggers/registration.hpp"
#include "triggers/watcher.hpp"

namespace beamflow::test {
namespace {
namespace fsys = std::filesystem;

// A file written a minute ago: a rescan hands it over at once (a newer one
// waits to be settled).
void old_file(const fsys::path& p) {
  write_text(p, "data\n");
  const struct timespec times[2] = {{::time(nullptr) - 60, 0}, {::time(nullptr) - 60, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0) << p;
}

TEST(TriggerRescan, HandsOverRegularFilesAndFollowsNoSymlink) {
  ScratchDir dir{"beamflow-rescan-"};
  const fsys::path pilot = dir.path() / "pilot", drop = dir.path() / "drop", outside = dir.path() / "outside";
  fsys::create_directories(drop / "sub");
  fsys::create_directories(outside / "tree");
  old_file(drop / "a.dat");
  old_file(drop / "sub" / "b.dat");
  old_file(outside / "c.dat");
  old_file(outside / "tree" / "d.dat");
  fsys::create_symlink(outside / "c.dat", drop / "link.dat");  // a symlink to a file
  fsys::create_symlink(outside / "tree", drop / "linkdir");    // and to a directory
  ASSERT_EQ(::mkfifo((drop / "fifo.dat").c_str(), 0600), 0);
  old_file(drop / "a.txt");  // not the pattern

  triggers::Registration r;
  r.id = "rescan";
  r.watch_dir = drop;
  r.pattern = "*.dat";
  r.recursive = true;
  r.quiet_seconds = 0;
  r.endpoint = "beamline";
  r.definition = Json{{"StartAt", "A"}, {"States", {{"A", {{"Type", "Pass"}, {"End", true}}}}}};
  r.input_template = Json{{"file", "{{path}}"}};
  triggers::add(pilot, r);
  triggers::Watcher w(pilot, {}, 2);  // its start rescan
  w.wait_idle();

  std::multiset<std::string> files;
  for (const auto& s : submissions(pilot)) files.insert(s["input"]["file"].get<std::string>());
  EXPECT_EQ(files, (std::multiset<std::string>{(drop / "a.dat").string(), (drop / "sub" / "b.dat").string()}));
  EXPECT_EQ(w.stats().watches, 2u);  // drop and drop/sub, not the symlinked directory
  EXPECT_EQ(w.pending_files(), 0u);
}

}  // namespace
}  // namespace beamflow::test
