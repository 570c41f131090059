// The beamline flow shipped in configs/flows/beamline.json, end to end with
// the real binary: a phantom lands in the `beamline` endpoint, is copied
// (verified) to `compute`, its centre found and checked on a trial slice,
// approved by a person (or not, unattended), reconstructed on 2 MPI ranks,
// previewed, recorded, and archived. The archive must hold the volume, the
// previews and a provenance record whose checksums match the files. Run by
// `beamflow run`, and by a pilot fed by the trigger watcher while datasets
// keep arriving and the pilot is restarted.
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <optional>

#include "../support/scratch_dir.hpp"
#include "fixture.hpp"
#include "platform/checksum.hpp"

namespace beamflow::test {
namespace {
namespace fsys = std::filesystem;
using namespace std::chrono_literals;

class BeamlineFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* d : {"beamline", "compute", "archive", "home"}) fsys::create_directories(dir.path() / d);
    write_text(dir.path() / "endpoints.json",
               Json{{"endpoints",
                     {{{"name", "beamline"}, {"path", (dir.path() / "beamline").string()}, {"read", true}, {"write", false}},
                      {{"name", "compute"}, {"path", (dir.path() / "compute").string()}, {"read", true}, {"write", true}},
                      {{"name", "archive"}, {"path", (dir.path() / "archive").string()}, {"read", true}, {"write", true}}}}}
                   .dump());
    const auto p = beamflow({"phantom", "--json", "--output", (dir.path() / "beamline" / "scan_0001.h5").string(),
                             "--size", "64", "--angles", "60", "--rows", "8"},
                            options());
    ASSERT_EQ(p.exit_code, 0) << p.out << p.err;
  }

  ProcessOptions options() const {
    ProcessOptions o;
    o.cwd = dir.path();
    o.env = {{"BEAMFLOW_HOME", (dir.path() / "home").string()},
             {"OMPI_ALLOW_RUN_AS_ROOT", "1"},
             {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"},
             {"OMPI_MCA_rmaps_base_oversubscribe", "1"}};
    o.unset_env = {"BEAMFLOW_EXE", "BEAMFLOW_MPIEXEC", "BEAMFLOW_ENDPOINTS"};
    o.timeout = 300s;
    return o;
  }

  Json input(bool unattended) const {
    return {{"endpoints", (dir.path() / "endpoints.json").string()},
            {"compute_root", (dir.path() / "compute").string()},
            {"source", "scan_0001.h5"},
            {"name", "scan_0001"},
            {"unattended", unattended},
            {"ranks", 2},
            {"parameters", {{"algorithm", "gridrec"}, {"center_method", "vo"}, {"center_samples", 3}}}};
  }

  static fsys::path flow() { return fsys::path(BEAMFLOW_SOURCE_DIR) / "configs" / "flows" / "beamline.json"; }

  // The archive holds the volume, previews and the record; the record's
  // checksums are the files'.
  Json check_archive(const std::string& name = "scan_0001") const {
    const fsys::path out = dir.path() / "archive" / name;
    EXPECT_TRUE(fsys::is_regular_file(out / "recon.h5"));
    EXPECT_FALSE(fsys::exists(out / "work"));  // the raw copy and trial slice stay on compute
    std::size_t pngs = 0;
    for (const auto& e : fsys::directory_iterator(out)) pngs += e.path().extension() == ".png";
    EXPECT_GE(pngs, 3u);  // the centre check and the previews of the sampled rows
    const Json record = read_json(out / "provenance.json");
    EXPECT_EQ(record["record"], "beamflow.provenance/1");
    EXPECT_EQ(record["software"]["name"], "beamflow");
    EXPECT_FALSE(record["software"]["version"].get<std::string>().empty());
    EXPECT_FALSE(record["host"].get<std::string>().empty());
    EXPECT_EQ(record["ranks"], record["steps"]["reconstruct"]["ranks"]);
    EXPECT_TRUE(record["center"]["value"].is_number());
    EXPECT_EQ(record["parameters"]["reconstruction"]["algorithm"], "gridrec");
    for (const char* step : {"transfer_in", "find_center", "trial_slice", "reconstruct"})
      EXPECT_TRUE(record["timings"].contains(step)) << step << ": " << record["timings"].dump();
    // The input: the verified copy of the beamline file.
    EXPECT_EQ(record["inputs"].size(), 1u);
    EXPECT_EQ(record["inputs"][0]["sha256"], platform::sha256_file(dir.path() / "beamline" / (name + ".h5")));
    std::size_t checked = 0;
    for (const auto& r : record["results"]) {
      const fsys::path archived = out / r["name"].get<std::string>();
      EXPECT_TRUE(fsys::is_regular_file(archived)) << archived;
      if (!fsys::is_regular_file(archived)) continue;
      EXPECT_EQ(r["sha256"], platform::sha256_file(archived)) << archived;
      EXPECT_EQ(r["size"], fsys::file_size(archived));
      ++checked;
    }
    EXPECT_EQ(checked, 1 + pngs);  // the volume and every preview
    return record;
  }

  void register_trigger(int ranks);

  // A dataset arriving as acquisition software delivers it: written aside,
  // then renamed into the beamline folder (IN_MOVED_TO).
  void arrive(const std::string& name) const {
    fsys::create_directories(dir.path() / "staging");
    const auto p = beamflow({"phantom", "--output", (dir.path() / "staging" / (name + ".h5")).string(), "--size",
                             "64", "--angles", "60", "--rows", "8"},
                            options());
    ASSERT_EQ(p.exit_code, 0) << p.out << p.err;
    fsys::rename(dir.path() / "staging" / (name + ".h5"), dir.path() / "beamline" / (name + ".h5"));
  }

  Process start_pilot() const {
    ProcessOptions o = options();
    o.timeout = {};
    o.stderr_file = dir.path() / ("pilot-" + std::to_string(++m_pilots) + ".log");
    return Process::start({beamflow_binary(), "pilot", "--dir", "pilot", "--slots", "2"}, o);
  }

  ScratchDir dir{"beamflow-beamline-"};
  mutable int m_pilots = 0;
};

// The approval request of a run waiting in ApproveCenter, once it exists.
std::optional<Json> approval_request(const fsys::path& runs) {
  std::error_code ec;
  for (fsys::recursive_directory_iterator it(runs, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() != "request.json") continue;
    try {
      const Json j = read_json(it->path());
      if (j.value("kind", "") == "approval") return j;
    } catch (const std::exception&) {  // being written: not yet
    }
  }
  return std::nullopt;
}

// The scientist corrects the centre while approving: the volume is
// reconstructed at the corrected centre, and the record says so (the value
// used, the one found, the correction and who made it).
TEST_F(BeamlineFlow, AScientistCorrectsTheCentreWhenApprovingAndTheVolumeUsesIt) {
  write_text(dir.path() / "in.json", input(false).dump());
  auto run = Process::start({beamflow_binary(), "run", flow().string(), "--input", "in.json", "--run-id", "scan-1",
                             "--runs-dir", "runs", "--json"},
                            options());
  // The run waits for a person, proposing the centre it found.
  std::optional<Json> request;
  ASSERT_TRUE(eventually([&] { return (request = approval_request(dir.path() / "runs")).has_value(); }, 180s));
  ASSERT_TRUE((*request)["values"]["centre"].is_number()) << request->dump();
  const double found = (*request)["values"]["centre"].get<double>();
  const double corrected = found + 1.5;
  // A typo is refused, not ignored.
  const auto typo = beamflow({"approve", "scan-1", "--runs-dir", "runs", "--set", "center=30", "--json"}, options());
  EXPECT_NE(typo.exit_code, 0);
  EXPECT_NE(typo.out.find("approve.invalid"), std::string::npos) << typo.out << typo.err;
  EXPECT_NE(typo.out.find("centre"), std::string::npos) << typo.out;
  const auto decided = beamflow({"approve", "scan-1", "--runs-dir", "runs", "--by", "alice", "--comment",
                                 "centre moved by hand", "--set", "centre=" + Json(corrected).dump(), "--json"},
                                options());
  ASSERT_EQ(decided.exit_code, 0) << decided.out << decided.err;
  EXPECT_EQ(json_of(decided.out)["corrections"]["centre"], corrected);
  const auto r = run.wait();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Json record = check_archive();
  EXPECT_EQ(record["approval"]["approved"], true);
  EXPECT_EQ(record["approval"]["by"], "alice");
  EXPECT_EQ(record["approval"]["corrected"]["centre"]["from"], found);
  EXPECT_EQ(record["approval"]["corrected"]["centre"]["to"], corrected);
  EXPECT_EQ(record["center"]["value"], corrected);
  EXPECT_EQ(record["center"]["found"], found);
  EXPECT_EQ(record["steps"]["find_center"]["center"], found);
  // The reconstruction itself recorded the corrected centre.
  EXPECT_EQ(record["steps"]["reconstruct"]["center"], corrected);
  EXPECT_EQ(json_of(r.out)["output"]["center"], corrected);
}

TEST_F(BeamlineFlow, AScientistApprovesTheCentreThenItIsReconstructedAndArchivedWithProvenance) {
  write_text(dir.path() / "in.json", input(false).dump());
  auto run = Process::start({beamflow_binary(), "run", flow().string(), "--input", "in.json", "--run-id", "scan-1",
                             "--runs-dir", "runs", "--json"},
                            options());
  // The run waits for a person: approve once the request exists.
  ProcessResult decided;
  ASSERT_TRUE(eventually(
      [&] {
        decided = beamflow({"approve", "scan-1", "--runs-dir", "runs", "--by", "alice", "--comment", "centre ok"},
                           options());
        return decided.exit_code == 0;
      },
      180s))
      << decided.out << decided.err;
  const auto r = run.wait();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Json record = check_archive();
  EXPECT_EQ(record["approval"]["approved"], true);
  EXPECT_EQ(record["approval"]["by"], "alice");
  EXPECT_EQ(record["ranks"], 2);
  // Approved as found: the centre used is the one found, nothing corrected.
  EXPECT_EQ(record["center"]["value"], record["center"]["found"]);
  EXPECT_EQ(record["approval"]["corrected"], Json::object());
  EXPECT_EQ(record["steps"]["reconstruct"]["center"], record["center"]["found"]);
  EXPECT_EQ(json_of(r.out)["output"]["provenance"], (dir.path() / "compute/scan_0001/provenance.json").string());
}

// The registration the demo makes, with this test's endpoints.
void BeamlineFlow::register_trigger(int ranks) {
  Json templ = input(true);
  templ["source"] = "{{relative_path}}";
  templ["name"] = "{{stem}}";
  templ["ranks"] = ranks;
  write_text(dir.path() / "template.json", templ.dump());
  const auto added = beamflow({"trigger", "add", "--watch", (dir.path() / "beamline").string(), "--pattern",
                               "scan_????.h5", "--endpoint", "beamline", "--quiet-seconds", "1", "--flow",
                               flow().string(), "--input-template", "template.json", "--pilot", "pilot", "--id",
                               "beamline"},
                              options());
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
}

TEST_F(BeamlineFlow, ATriggerSeesTheFileAndTheUnattendedFlowArchivesIt) {
  register_trigger(2);
  // The phantom was there before the watcher: the start rescan submits it
  // (its truth files beside it do not match the pattern).
  const auto watched = beamflow({"trigger", "watch", "--pilot", "pilot", "--once", "--json"}, options());
  ASSERT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  const auto subs = submissions(dir.path() / "pilot");
  ASSERT_EQ(subs.size(), 1u);
  const Json submission = subs[0];
  EXPECT_EQ(submission["input"]["source"], "scan_0001.h5");
  EXPECT_EQ(submission["input"]["name"], "scan_0001");
  // Run what was handed over, as a pilot would.
  write_text(dir.path() / "flow.json", submission["definition"].dump());
  write_text(dir.path() / "in.json", submission["input"].dump());
  const auto r = beamflow({"run", "flow.json", "--input", "in.json", "--runs-dir", "runs", "--json"}, options());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Json record = check_archive();
  EXPECT_EQ(record["approval"]["approved"], false);
  EXPECT_EQ(record["parameters"]["unattended"], true);
  EXPECT_EQ(record["center"]["value"], record["center"]["found"]);  // nobody corrected it
  EXPECT_EQ(record["steps"]["reconstruct"]["center"], record["center"]["found"]);
}

}  // namespace
}  // namespace beamflow::test

namespace beamflow::test {
namespace {

// Datasets arriving at a pilot (one process, 2 worker slots; the
// reconstruction takes both) that runs the trigger itself (no `trigger
// watch`: a beamline needs one process) are each reconstructed and archived
// once, including one that arrives while the pilot is down (killed with
// SIGKILL: the restarted pilot's start rescan hands it over).
TEST_F(BeamlineFlow, DatasetsArrivingAtAPilotRunningTheTriggerRunOnceEachOneWhileItIsDown) {
  // Only the datasets that arrive below: SetUp's scan_0001.h5 is another
  // file than the one arrive() renames over it, so a pilot whose start
  // rescan still saw it (settled: older than the quiet second, which a
  // loaded machine makes likely) rightly handed over both, 4 submissions.
  fsys::remove(dir.path() / "beamline" / "scan_0001.h5");
  register_trigger(2);
  auto run_of = [&](const std::string& name) {
    for (const auto& f : submissions(dir.path() / "pilot")) {
      const Json s = f;
      if (s["input"]["name"] == name) return s["run_id"].get<std::string>();
    }
    return std::string();
  };
  auto finished = [&](const std::string& name) {
    std::string id;
    EXPECT_TRUE(eventually([&] { return !(id = run_of(name)).empty(); })) << name;
    const auto r = beamflow({"wait", id, "--pilot", "pilot", "--json"}, options());
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.out << r.err;
    return r.exit_code == 0 && json_of(r.out)["status"] == "SUCCEEDED";
  };
  {
    auto pilot = start_pilot();
    arrive("scan_0001");
    ASSERT_TRUE(finished("scan_0001"));
    pilot.kill(SIGKILL);
    pilot.wait();
  }
  arrive("scan_0002");  // no pilot, so no watcher: nothing hands it over yet
  EXPECT_TRUE(run_of("scan_0002").empty());
  auto pilot = start_pilot();
  arrive("scan_0003");
  for (const char* name : {"scan_0002", "scan_0003"}) EXPECT_TRUE(finished(name)) << name;
  pilot.kill(SIGTERM);
  pilot.wait();
  EXPECT_EQ(submissions(dir.path() / "pilot").size(), 3u);
  std::ifstream in(dir.path() / "pilot-2.log");
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("triggers: 1 registrations"), std::string::npos) << log;
  for (const char* name : {"scan_0001", "scan_0002", "scan_0003"}) {
    const Json record = check_archive(name);
    EXPECT_EQ(record["parameters"]["name"], name);
    EXPECT_EQ(record["ranks"], 2);
  }
}

}  // namespace
}  // namespace beamflow::test
