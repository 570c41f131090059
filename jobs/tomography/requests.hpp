#pragma once
// The options of every tomography job, declared once: each field has a
// name, a type, a help line, and how it reads and writes the job's options
// struct. The command line (`beamflow recon --chunk-rows 8`), the flow
// actions' JSON input ({"chunk_rows": 8}) and the actions' JSON Schema are
// all generated from these tables, so they cannot drift apart; the defaults
// shown are those of the options structs.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/tomography/center_job.hpp"
#include "jobs/tomography/phantom_job.hpp"
#include "jobs/tomography/preview.hpp"
#include "jobs/tomography/recon_job.hpp"

namespace beamflow::jobs {

enum class FieldType { String, Path, Integer, Number, Boolean, IntegerList };

template <class Options>
struct Field {
  std::string name;  // snake_case; the command line uses --kebab-case
  FieldType type;
  std::string help;
  bool required = false;
  // Stores a JSON value (already checked to be of `type`); relative paths
  // resolve against the base directory.
  std::function<void(Options&, const Json&, const std::filesystem::path& base)> set;
  std::function<Json(const Options&)> get;  // for defaults
};

const std::vector<Field<ReconOptions>>& recon_fields();
const std::vector<Field<FindCenterOptions>>& find_center_fields();
const std::vector<Field<PhantomOptions>>& phantom_fields();
const std::vector<Field<PreviewOptions>>& preview_fields();

// Builds options from a JSON object: checks required fields, types and
// unknown names (tomo.usage.request, naming the field).
template <class Options>
Options options_from_json(const std::vector<Field<Options>>& fields, const Json& request,
                          const std::filesystem::path& base);

// JSON Schema (draft 2020-12) of a request, with defaults and descriptions.
template <class Options>
Json input_schema(const std::vector<Field<Options>>& fields);

// A command-line string converted to the field's JSON type
// (tomo.usage.request when it does not parse).
Json json_from_text(FieldType type, const std::string& name, const std::string& text);

}  // namespace beamflow::jobs
