#include "jobs/catalog/catalog_actions.hpp"

#include "actions/builtin_action.hpp"
#include "jobs/catalog/datasets.hpp"
#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/settings.hpp"

namespace beamflow::catalog {
namespace {

using actions::ActionRequest;
using actions::ActionState;
using actions::Field;
using actions::FieldType;

std::unique_ptr<Catalog> catalog_for(const ActionRequest& r) {
  return open_catalog(r.input.value("catalog", default_catalog_location()));
}

std::filesystem::path resolve(const ActionRequest& r, const std::filesystem::path& p) {
  return p.is_relative() ? r.work_dir / p : p;
}

Json summary(const Entry& e) {
  return {{"identifier", e.identifier}, {"version", e.version},   {"status", to_string(e.status)},
          {"location", e.location},     {"files", e.files},       {"bytes", e.bytes},
          {"manifest_sha256", e.manifest_digest}};
}

// Where a publish stands, from its catalog entry.
ActionState state_of(const ActionRequest& r, const Entry& e) {
  switch (e.status) {
    case EntryStatus::Published: return ActionState::succeeded(r.action_id, summary(e));
    case EntryStatus::Pending: return ActionState::active(r.action_id, std::chrono::milliseconds(2000), summary(e));
    case EntryStatus::Rejected:
      return ActionState::failed(r.action_id, "Dataset.Rejected", e.decided_by + ": " + e.reason);
    case EntryStatus::Withdrawn:
      return ActionState::failed(r.action_id, "Dataset.Withdrawn", e.reason);
  }
  return ActionState::failed(r.action_id, kCatalogError, "unknown status");
}

class PublishAction final : public actions::BuiltinAction {
 public:
  PublishAction()
      : BuiltinAction(
            "publish",
            "Publishes a dataset: copies it into a BagIt bag on permanent storage, mints an identifier and "
            "records it in the catalog; waits for a curator when the collection requires approval.",
            actions::Timing::Asynchronous, actions::Effects::Observable,
            actions::InputSpec({Field::of(FieldType::String, "source", "file or directory to publish").mandatory().not_empty(),
                                Field::of(FieldType::Any, "metadata", "{dc: DataCite, domain: {...}}").mandatory(),
                                Field::of(FieldType::String, "collection", "collection (default: default)"),
                                Field::of(FieldType::StringArray, "visible_to", "public, user:NAME, group:NAME"),
                                Field::of(FieldType::String, "identifier", "publish a new version of this identifier"),
                                Field::of(FieldType::Boolean, "in_place", "publish the data where it is (no copy)"),
                                Field::of(FieldType::String, "catalog", "catalog location (default: $BEAMFLOW_CATALOG)"),
                                Field::of(FieldType::String, "storage", "storage root (default: $BEAMFLOW_DATASETS)")})) {}

  ActionState run(const ActionRequest& r) override {
    return checked(r, [&] {
      auto catalog = catalog_for(r);
      Datasets datasets(*catalog, resolve(r, r.input.value("storage", default_storage().string())));
      datasets.notify_curators_in(default_notifications());
      PublishRequest p;
      p.source = resolve(r, r.input["source"].get<std::string>());
      p.metadata = r.input["metadata"];
      p.collection = r.input.value("collection", "default");
      p.visible_to = r.input.value("visible_to", std::vector<std::string>{});
      p.identifier = r.input.value("identifier", "");
      p.request_id = r.action_id;
      p.in_place = r.input.value("in_place", false);
      // A repeat of this action id (a poll, a restart) gets the recorded
      // entry, and its curators' notifications are re-sent if a crash after
      // the commit lost them.
      return state_of(r, datasets.publish(p, current_identity()));
    });
  }
  ActionState status(const ActionRequest& r) override { return run(r); }
  ActionState cancel(const ActionRequest& r) override {
    return actions::cancelled(r, "publish: a recorded entry stays; withdraw it with `beamflow dataset withdraw`");
  }
};

class SearchAction final : public actions::SyncAction {
 public:
  SearchAction()
      : SyncAction("search", "Searches the dataset catalog (Globus Search request and response shapes).",
                   actions::Effects::None,
                   actions::InputSpec({Field::of(FieldType::Any, "query", "{q, filters, facets, sort, limit, marker}").mandatory(),
                                       Field::of(FieldType::String, "catalog", "catalog location")})) {}

 protected:
  ActionState compute(const ActionRequest& r) override {
    auto catalog = catalog_for(r);
    return ActionState::succeeded(r.action_id, to_gmeta(catalog->search(parse_query(r.input["query"]), current_identity())));
  }
};

}  // namespace

void register_catalog_actions(actions::ActionRegistry& registry) {
  registry.add(std::make_shared<PublishAction>());
  registry.add(std::make_shared<SearchAction>());
}

}  // namespace beamflow::catalog
