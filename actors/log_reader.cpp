#include "actors/log_reader.hpp"

#include "actors/pages.hpp"
#include "events/codec.hpp"
#include "projections/history.hpp"

#include <almanac/caf_error.hpp>

#include <caf/all.hpp>

namespace almanac {

namespace {

struct log_reader_state {
  static inline const char* name = "almanac.log_reader";
  std::shared_ptr<const runtime_context> ctx;
};

using pointer = log_reader_actor::stateful_pointer<log_reader_state>;

template <class Page>
caf::result<Page> page_or_error(const store::status& s, Page page) {
  if (!s.ok())
    return to_caf_error(store::to_error(s));
  return page;
}

caf::result<job_state> load(pointer self, job_id id) {
  job_state s;
  if (auto st = self->state.ctx->jobs->load(id, s); !st.ok())
    return to_caf_error(store::to_error(st));
  return s;
}

// A page of jobs being gathered (see job_walk_query).
struct job_walk {
  job_walk_query q;
  std::size_t next = 0;
  std::size_t bytes = 0;
  std::optional<job_id> last;
  job_list page;
  caf::typed_response_promise<job_list> rp;

  void add(job_state s) {
    if (!s.live())
      return;
    bytes += encode_state(s).size();
    page.jobs.push_back(std::move(s));
  }
};

void add_from_log(pointer self, job_walk& w, job_id id) {
  job_state s;
  if (self->state.ctx->jobs->load(id, s).ok())
    w.add(std::move(s));
}

void continue_walk(pointer self, std::shared_ptr<job_walk> w) {
  while (w->next < w->q.ids.size() && w->bytes < max_page_bytes) {
    auto i = w->next++;
    auto id = w->q.ids[i];
    w->last = id;
    auto actor = caf::actor_cast<caf::actor>(w->q.actors[i]);
    if (!actor) {
      add_from_log(self, *w, id);
      continue;
    }
    self->request(actor, caf::infinite, get_atom::value)
      .then(
        [=](job_state& s) {
          w->add(std::move(s));
          continue_walk(self, w);
        },
        [=](caf::error&) {
          // Passivated or deleted meanwhile: its state is in the log.
          add_from_log(self, *w, id);
          continue_walk(self, w);
        });
    return;
  }
  if (w->last && (w->q.more || w->next < w->q.ids.size()))
    w->page.next_cursor = make_cursor('j', w->last->value);
  w->rp.deliver(std::move(w->page));
}

caf::typed_response_promise<job_list> walk(pointer self, job_walk_query& q) {
  auto w = std::make_shared<job_walk>();
  w->q = std::move(q);
  w->rp = self->make_response_promise<job_list>();
  auto rp = w->rp;
  continue_walk(self, w);
  return rp;
}

caf::result<audit_page> audit(pointer self, const audit_query& q) {
  audit_page page;
  // One more than the page tells whether another page follows.
  auto s = read_audit(*self->state.ctx->log, q.job, q.limit + 1, q.before, page.entries);
  if (s.ok() && page.entries.size() > q.limit) {
    page.entries.resize(q.limit);
    page.next_cursor = make_cursor('a', page.entries.back().position);
  }
  return page_or_error(s, std::move(page));
}

caf::result<run_page> runs(pointer self, const runs_query& q) {
  run_page page;
  auto s = read_runs(*self->state.ctx->log, q.job, q.limit + 1, page.runs, q.before);
  if (s.ok() && page.runs.size() > q.limit) {
    page.runs.resize(q.limit);
    page.next_cursor = make_cursor('r', page.runs.back().run_id);
  }
  return page_or_error(s, std::move(page));
}

log_reader_actor::behavior_type log_reader(pointer self,
                                           std::shared_ptr<const runtime_context> ctx) {
  self->state.ctx = std::move(ctx);
  return {
    [=](load_atom, job_id id) { return load(self, id); },
    [=](job_walk_query& q) { return walk(self, q); },
    [=](audit_query& q) { return audit(self, q); },
    [=](runs_query& q) { return runs(self, q); },
  };
}

} // namespace

log_reader_actor spawn_log_reader(caf::local_actor* parent,
                                  std::shared_ptr<const runtime_context> ctx) {
  return parent->spawn<caf::detached + caf::linked>(log_reader, std::move(ctx));
}

} // namespace almanac
