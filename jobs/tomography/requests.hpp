#pragma once
// The options of every tomography job, declared once in tables of
// actions::OptionField (engine/actions/options.hpp): each field has a name,
// a type, a help line, and how it reads and writes the job's options struct.
// The command line (`beamflow recon --chunk-rows 8`), the flow actions' JSON
// input ({"chunk_rows": 8}) and the actions' JSON Schema are all generated
// from these tables, so they cannot drift apart; the defaults shown are
// those of the options structs.
#include <filesystem>
#include <string>
#include <vector>

#include "actions/options.hpp"
#include "core/json.hpp"
#include "jobs/tomography/center_job.hpp"
#include "jobs/tomography/phantom_job.hpp"
#include "jobs/tomography/preview.hpp"
#include "jobs/tomography/recon_job.hpp"

namespace beamflow::jobs {

using actions::FieldType;

// A field of a job's table (actions/options.hpp): name (snake_case; the
// command line uses --kebab-case), type, description, whether required, and
// how it reads and writes the job's options struct.
template <class Options>
using Field = actions::OptionField<Options>;

const std::vector<Field<ReconOptions>>& recon_fields();
const std::vector<Field<FindCenterOptions>>& find_center_fields();
const std::vector<Field<PhantomOptions>>& phantom_fields();
const std::vector<Field<PreviewOptions>>& preview_fields();

// A bad option: tomo.usage.request naming the field ("option chunk_rows:
// is required").
Error request_error(const std::string& field, const std::string& why);

// Builds options from a JSON object: checks required fields, types and
// unknown names (tomo.usage.request, naming the field).
template <class Options>
Options options_from_json(const std::vector<Field<Options>>& fields, const Json& request,
                          const std::filesystem::path& base) {
  return actions::options_from_json(fields, request, base, request_error);
}

// JSON Schema (draft 2020-12) of a request, with defaults and descriptions.
template <class Options>
Json input_schema(const std::vector<Field<Options>>& fields) {
  return actions::options_schema(fields);
}

// A command-line string converted to the field's JSON type
// (tomo.usage.request when it does not parse).
Json json_from_text(FieldType type, const std::string& name, const std::string& text);

}  // namespace beamflow::jobs
