#include "actors/projector.hpp"

#include "actors/type_ids.hpp"
#include "projections/history.hpp"

#include <caf/all.hpp>

namespace almanac {

namespace {

// Events folded per message, so audit queries and shutdown are never stuck behind a long
// rebuild.
constexpr std::uint64_t chunk_events = 4096;

// Folds at most `max` events after `from`; returns the new checkpoint.
store::status fold_chunk(store::journal& log, history_projector& projector, std::uint64_t from,
                         std::uint64_t max, std::uint64_t& checkpoint) {
  store::projection_batch batch;
  std::uint64_t last = from;
  std::uint64_t n = 0;
  auto st = log.read_all(from + 1, [&](std::uint64_t position, const event& e) {
    projector.stage(projector.apply(position, e), e, batch);
    last = position;
    return ++n < max;
  });
  if (!st.ok())
    return st;
  if (last == from) {
    checkpoint = from;
    return st;
  }
  batch.checkpoint(history_checkpoint, last);
  st = log.write_projections(batch);
  if (st.ok())
    checkpoint = last;
  return st;
}

struct projector_state {
  static inline const char* name = "almanac.projector";
  std::shared_ptr<const runtime_context> ctx;
  std::unique_ptr<history_projector> fold;
  std::uint64_t checkpoint = 0;
  bool scheduled = false;
  // Sync requests waiting for the checkpoint to reach a position.
  std::vector<std::pair<std::uint64_t, caf::response_promise>> waiting;
};

caf::behavior projector(caf::stateful_actor<projector_state>* self,
                        std::shared_ptr<const runtime_context> ctx) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.fold = std::make_unique<history_projector>(st.ctx->log);
  if (auto s = st.ctx->log->read_checkpoint(history_checkpoint, st.checkpoint); !s.ok())
    st.ctx->say(log_level::error, "history projection checkpoint unreadable: " + s.message());
  auto schedule = [=] {
    if (!self->state.scheduled) {
      self->state.scheduled = true;
      self->send(self, advance_atom::value);
    }
  };
  self->send(self, advance_atom::value);
  st.scheduled = true;
  return {
    [=](advance_atom) {
      auto& st = self->state;
      st.scheduled = false;
      // Cleared before reading: an append after this point pokes again.
      st.ctx->projector_poked = false;
      std::uint64_t next = st.checkpoint;
      auto s = fold_chunk(*st.ctx->log, *st.fold, st.checkpoint, chunk_events, next);
      if (!s.ok()) {
        st.ctx->say(log_level::error, "history projection stopped at position " +
                                        std::to_string(st.checkpoint) + ": " + s.message());
        for (auto& [pos, rp] : st.waiting)
          rp.deliver(caf::make_error(caf::sec::runtime_error, s.message()));
        st.waiting.clear();
        // The fold may have taken in events past the checkpoint: it starts again from what is
        // stored. A log that is unreachable for now (a PostgreSQL restart) is tried again, so
        // the history catches up without waiting for the next append; a corrupt one is not.
        st.fold = std::make_unique<history_projector>(st.ctx->log);
        if (s.get_code() == store::status::code::unavailable
            || s.get_code() == store::status::code::io_error) {
          st.scheduled = true;
          self->delayed_send(self, std::chrono::seconds{1}, advance_atom::value);
        }
        return;
      }
      bool progressed = next != st.checkpoint;
      st.checkpoint = next;
      for (auto i = st.waiting.begin(); i != st.waiting.end();) {
        if (i->first <= st.checkpoint) {
          i->second.deliver(st.checkpoint);
          i = st.waiting.erase(i);
        } else {
          ++i;
        }
      }
      if (progressed)
        schedule();
    },
    [=](sync_atom) -> caf::result<std::uint64_t> {
      auto& st = self->state;
      std::uint64_t target = 0;
      if (auto s = st.ctx->log->highest_position(target); !s.ok())
        return caf::make_error(caf::sec::runtime_error, s.message());
      if (target <= st.checkpoint)
        return st.checkpoint;
      auto rp = self->make_response_promise();
      st.waiting.emplace_back(target, rp);
      schedule();
      return caf::delegated<std::uint64_t>{};
    },
  };
}

} // namespace

caf::actor spawn_projector(caf::actor_system& sys, std::shared_ptr<const runtime_context> ctx) {
  return sys.spawn(projector, std::move(ctx));
}

store::status project_history(store::journal& log, bool rebuild) {
  if (rebuild) {
    for (auto name : {audit_projection, audit_by_job_projection, runs_projection, jobs_projection,
                      history_checkpoint})
      if (auto s = log.drop_projection(name); !s.ok())
        return s;
  }
  std::uint64_t checkpoint = 0;
  if (auto s = log.read_checkpoint(history_checkpoint, checkpoint); !s.ok())
    return s;
  history_projector fold{&log};
  for (;;) {
    std::uint64_t next = checkpoint;
    auto s = fold_chunk(log, fold, checkpoint, chunk_events, next);
    if (!s.ok() || next == checkpoint)
      return s;
    checkpoint = next;
  }
}

} // namespace almanac
