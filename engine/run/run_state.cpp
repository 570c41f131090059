#include "run/run_state.hpp"

#include <iterator>

#include "run/record_check.hpp"

namespace beamflow::run {
namespace {

Error replay_error(const std::string& what, const Event& e) {
  return Error("run.replay", states_error::Runtime, what,
               {{"record", to_string(e.type)}, {"frame", frame_of(e)}});
}

const std::string& str(const Json& body, const char* key) {
  static const std::string empty;
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get_ref<const std::string&>() : empty;
}

}  // namespace

Frame* RunState::find(const std::string& id) {
  auto it = m_frames.find(id);
  return it == m_frames.end() ? nullptr : &it->second;
}

Frame& RunState::frame(const std::string& id) {
  auto it = m_frames.find(id);
  if (it == m_frames.end())
    throw Error("run.replay", states_error::Runtime, "record names an unknown frame", {{"frame", id}});
  return it->second;
}

std::vector<std::string> RunState::tasks() const {
  std::vector<std::string> out;
  for (const auto& [id, f] : m_frames)
    if (f.phase == Phase::Task) out.push_back(id);
  return out;
}

void RunState::mark_ready(Frame& f) {
  // A frame id is never made again once its frame is gone (a child's id
  // holds its parent's visit and attempt), so a frame new in this turn is
  // not one already queued under its id.
  if (f.ready_turn == m_ready_turn) return;
  f.ready_turn = m_ready_turn;
  m_ready.push_back(f.id);
}

std::vector<std::string> RunState::take_ready() {
  // Moved out, not copied: two frame ids an item pass through here.
  std::vector<std::string> out(std::make_move_iterator(m_ready.begin()), std::make_move_iterator(m_ready.end()));
  m_ready.clear();
  ++m_ready_turn;
  return out;
}

void RunState::set_phase(Frame& f, Phase p) {
  if (f.phase == Phase::Waiting || f.phase == Phase::Retrying) m_timers.erase({f.timer_ms, f.id});
  f.phase = p;
  if (p == Phase::Waiting || p == Phase::Retrying) m_timers.insert({f.timer_ms, f.id});
  if (p == Phase::Ready || p == Phase::TaskDone || p == Phase::Children) mark_ready(f);
}

void RunState::check_resumable() const {
  for (const auto& [id, f] : m_frames)
    if (f.phase == Phase::Children && f.def().type == lang::StateType::Parallel && f.children.started < f.children.total)
      throw Error("run.replay", states_error::Runtime,
                  "the journal ends after Parallel state '" + f.state + "' started its " +
                      std::to_string(f.children.total) + " branches but before " +
                      std::to_string(f.children.total - f.children.started) +
                      " of them were entered; one commit writes both, so no beamflow wrote this journal",
                  {{"frame", id}});
}

void RunState::requeue_all() {
  for (auto& [id, f] : m_frames)
    if (f.phase == Phase::Ready || f.phase == Phase::TaskDone || f.phase == Phase::Children) mark_ready(f);
}

// Records the end of a child in its parent, then forgets the child (its
// output now lives in the parent), so a Map of many items stays small.
void RunState::end_child(Frame& child, ChildStatus status) {
  if (!child.parent) return;
  Frame& parent = frame(*child.parent);
  Children& c = parent.children;
  if (child.index >= c.total) throw Error("run.replay", states_error::Runtime, "child index out of range", {{"frame", child.id}});
  if (c.status[child.index] == ChildStatus::Running) {
    c.status[child.index] = status;
    ++c.ended;
    if (status == ChildStatus::Succeeded) {
      c.outputs[child.index] = std::move(child.output);
    } else if (status == ChildStatus::Failed) {
      ++c.failed;
      c.outputs[child.index] = Json{{"Error", child.error.error}, {"Cause", child.error.cause}};
      if (!c.first_error) c.first_error = child.error;
    }
  }
  mark_ready(parent);
  const std::string id = child.id;
  cancel_subtree(id);
  m_frames.erase(id);
}

// Drops every descendant of `id` (they are cancelled with it).
void RunState::cancel_subtree(const std::string& id) {
  const std::string prefix = id + "/";
  for (auto it = m_frames.lower_bound(prefix); it != m_frames.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    set_phase(it->second, Phase::Ended);
    it = m_frames.erase(it);
  }
}

void RunState::apply(const Event& e) {
  const Json& b = e.body;
  switch (e.type) {
    case RecordType::RunStarted: {
      m_info.run_id = str(b, "run_id");
      m_info.name = str(b, "name");
      m_info.flow = str(b, "flow");
      m_info.work_dir = str(b, "work_dir");
      m_info.started_ms = b.value("t", std::int64_t{0});
      m_info.input = b.value("input", Json::object());
      m_info.definition_sha256 = str(b, "definition_sha256");
      m_info.submission_id = str(b, "submission");
      return;
    }
    case RecordType::StateEntered: {
      std::optional<EntryRecord> converted;  // a CBOR record (older journals)
      const EntryRecord& r = e.entry ? *e.entry : converted.emplace(entry_record(b));
      const std::string& id = r.f;
      Frame* f = find(id);
      if (!f) {
        Frame nf;
        nf.id = id;
        if (r.p) {
          Frame& parent = frame(*r.p);
          nf.parent = parent.id;
          nf.index = static_cast<std::size_t>(r.i);
          const lang::State& ps = parent.def();
          if (ps.type == lang::StateType::Parallel) {
            if (nf.index >= ps.branches.size()) throw replay_error("branch index out of range", e);
            nf.machine = ps.branches[nf.index].get();
          } else if (ps.type == lang::StateType::Map) {
            nf.machine = ps.iterator.get();
          } else {
            throw replay_error("child frame of a state that has no children", e);
          }
          Children& c = parent.children;
          if (nf.index >= c.total) throw replay_error("child index out of range", e);
          if (c.status[nf.index] == ChildStatus::Pending) {
            c.status[nf.index] = ChildStatus::Running;
            ++c.started;
          }
        } else if (id.empty()) {
          nf.machine = m_machine.get();
        } else {
          throw replay_error("new non-root frame without a parent", e);
        }
        f = &m_frames.emplace(id, std::move(nf)).first->second;
      }
      f->state = r.s;
      if (!f->machine->states.count(f->state)) throw replay_error("unknown state '" + f->state + "'", e);
      f->input = r.in;
      f->entered_ms = r.t;
      f->visit = ++f->visits[f->state];
      f->attempt = 0;
      f->retry_counts.assign(f->def().retry.size(), 0);
      f->task = TaskInFlight{};
      f->children = Children{};
      set_phase(*f, Phase::Ready);
      return;
    }
    case RecordType::TaskScheduled: {
      std::optional<TaskRecord> converted;  // a CBOR record (older journals)
      const TaskRecord& r = e.task ? *e.task : converted.emplace(task_record(e.type, b));
      Frame& f = frame(r.f);
      f.task = TaskInFlight{};
      f.task.action_id = r.a;
      f.task.resource = r.r;
      f.task.input = r.data;
      f.task.attempt = static_cast<int>(r.att);
      f.task.started_ms = r.t;
      f.task.deadline_ms = r.dl;
      f.task.heartbeat_s = r.hb;
      set_phase(f, Phase::Task);
      return;
    }
    case RecordType::TaskSucceeded:
    case RecordType::TaskFailed: {
      Frame& f = frame(frame_of(e));
      if (f.phase != Phase::Task || f.task.action_id != (e.task ? e.task->a : str(b, "a")))
        throw replay_error("result for an action not in flight", e);
      f.task.ok = e.type == RecordType::TaskSucceeded;
      if (f.task.ok && e.task) {
        f.task.output = e.task->data;
        f.task.selected = e.task->sel;
      } else if (f.task.ok) {
        f.task.output = b.value("out", Json());
        f.task.selected = b.contains("sel") && b["sel"] == true;
      } else f.task.error = FlowError{str(b, "e"), str(b, "c")};
      set_phase(f, Phase::TaskDone);
      return;
    }
    case RecordType::RetryScheduled: {
      Frame& f = frame(str(b, "f"));
      const std::size_t k = b.value("k", std::size_t{0});
      if (k >= f.retry_counts.size()) throw replay_error("retrier index out of range", e);
      ++f.retry_counts[k];
      f.timer_ms = b.value("until", std::int64_t{0});
      set_phase(f, Phase::Retrying);
      return;
    }
    case RecordType::RetryStarted: {
      Frame& f = frame(str(b, "f"));
      ++f.attempt;
      cancel_subtree(f.id);
      f.children = Children{};
      set_phase(f, Phase::Ready);
      return;
    }
    case RecordType::WaitStarted: {
      Frame& f = frame(str(b, "f"));
      f.timer_ms = b.value("until", std::int64_t{0});
      set_phase(f, Phase::Waiting);
      return;
    }
    case RecordType::ChildrenStarted: {
      Frame& f = frame(str(b, "f"));
      Children c;
      c.total = b.value("n", std::size_t{0});
      // n sizes two vectors: it must be what the definition allows, never
      // whatever a record says (check_record bounds it for Map).
      if (const lang::State& st = f.def(); st.type == lang::StateType::Parallel ? c.total != st.branches.size()
                                                                               : st.type != lang::StateType::Map)
        throw replay_error("children count " + std::to_string(c.total) + " does not match state '" + f.state + "'", e);
      if (c.total > kMaxChildren) throw replay_error("children count above the limit", e);
      c.status.assign(c.total, ChildStatus::Pending);
      c.outputs.assign(c.total, Json());
      f.children = std::move(c);
      set_phase(f, Phase::Children);
      return;
    }
    case RecordType::FrameEnded: {
      Frame& f = frame(frame_of(e));
      f.ok = e.end || b.value("ok", false);
      if (e.end) f.output = e.end->out;
      else if (f.ok) f.output = b.value("out", Json());
      else f.error = FlowError{str(b, "e"), str(b, "c")};
      set_phase(f, Phase::Ended);
      end_child(f, f.ok ? ChildStatus::Succeeded : ChildStatus::Failed);
      return;
    }
    case RecordType::FrameCancelled: {
      Frame* f = find(str(b, "f"));
      if (!f) return;  // already gone with an ancestor
      set_phase(*f, Phase::Ended);
      if (f->parent) {
        Frame& parent = frame(*f->parent);
        parent.children.cancelling = true;
      }
      end_child(*f, ChildStatus::Cancelled);
      return;
    }
    case RecordType::RunEnded: {
      m_ended = true;
      m_ok = str(b, "status") == "SUCCEEDED";
      if (m_ok) m_output = b.value("out", Json());
      else m_error = FlowError{str(b, "e"), str(b, "c")};
      m_ended_ms = b.value("t", std::int64_t{0});
      for (auto& [id, f] : m_frames) set_phase(f, Phase::Ended);
      m_ready.clear();
      ++m_ready_turn;
      return;
    }
  }
  throw replay_error("unknown record", e);
}

}  // namespace beamflow::run
