#include "actors/executor.hpp"

#include <almanac/text.hpp>

#include <algorithm>

namespace almanac {

std::string output_tail(std::string_view text) {
  if (text.size() > max_output_tail) {
    text = text.substr(text.size() - max_output_tail);
    // Start on a character, not in the middle of one the cut split.
    for (int k = 0; k < 3 && !text.empty() && (static_cast<unsigned char>(text[0]) & 0xC0) == 0x80;
         ++k)
      text.remove_prefix(1);
  }
  // Whatever a program printed, every JSON copy of the tail (API, audit, projections) needs
  // valid UTF-8.
  return to_valid_utf8(text);
}

struct executor::task {
  run_key key;
  target what;
  run_callback done;
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  // Cut off by stop() when the grace period ended (guarded by mtx_): its outcome says nothing
  // about the job, so it is not reported and recovery re-runs it, like a crash would.
  bool cut_off = false;
  // Why the run was asked to stop, from the first cancel (guarded by mtx_).
  std::string cancel_reason;
};

executor::executor(executor_options options)
    : exec_runner_(std::move(options.exec_runner)), http_runner_(std::move(options.http_runner)) {
  auto n = std::max<std::size_t>(1, options.workers);
  threads_.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    threads_.emplace_back([this] { work(); });
}

executor::~executor() {
  stop(duration::zero());
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
}

void executor::register_handler(std::string name, handler fn) {
  std::lock_guard guard{mtx_};
  handlers_[std::move(name)] = std::move(fn);
}

void executor::set_exec_runner(runner fn) {
  std::lock_guard guard{mtx_};
  exec_runner_ = std::move(fn);
}

void executor::set_http_runner(runner fn) {
  std::lock_guard guard{mtx_};
  http_runner_ = std::move(fn);
}

void executor::submit(run_key key, target what, run_callback done) {
  auto t = std::make_shared<task>();
  t->key = key;
  t->what = std::move(what);
  t->done = std::move(done);
  std::lock_guard guard{mtx_};
  if (!stopping_) {
    queue_.push_back(std::move(t));
    cv_.notify_one();
    return;
  }
  // nop: a run submitted while stopping stays in flight in the log (see submit's contract)
}

void executor::cancel(job_id job, std::uint64_t run_id, std::string reason) {
  std::lock_guard guard{mtx_};
  auto mark = [&](const std::shared_ptr<task>& t) {
    if (t->key.job != job || t->key.run_id != run_id)
      return;
    if (t->cancel_reason.empty())
      t->cancel_reason = reason;
    t->cancelled->store(true);
  };
  for (auto& t : running_)
    mark(t);
  for (auto& t : queue_)
    mark(t);
}

std::size_t executor::pending() const {
  std::lock_guard guard{mtx_};
  return queue_.size() + running_.size();
}

runner executor::find_runner(const target& what) {
  std::lock_guard guard{mtx_};
  if (auto* h = std::get_if<handler_target>(&what)) {
    auto i = handlers_.find(h->name);
    if (i == handlers_.end())
      return {};
    auto fn = i->second;
    return [fn](const run_context& ctx) {
      fn(ctx);
      return run_outcome{};
    };
  }
  if (std::holds_alternative<exec_target>(what))
    return exec_runner_;
  return http_runner_;
}

void executor::work() {
  for (;;) {
    std::shared_ptr<task> t;
    {
      std::unique_lock lock{mtx_};
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;
      t = queue_.front();
      queue_.pop_front();
      running_.push_back(t);
    }
    run_outcome outcome;
    auto start = std::chrono::steady_clock::now();
    // A run stopped by a timeout reports the timeout, whichever of the two reaches the job first.
    auto reason = [&] {
      std::lock_guard lock{mtx_};
      return t->cancel_reason.empty() ? std::string{"cancelled"} : t->cancel_reason;
    };
    if (t->cancelled->load()) {
      outcome = {false, reason() + " (before it started)", {}};
    } else if (auto fn = find_runner(t->what); !fn) {
      auto* h = std::get_if<handler_target>(&t->what);
      outcome = {false,
                 h ? "no handler is registered under the name '" + h->name + "'"
                   : std::string{"this scheduler has no runner for this kind of target"},
                 {}};
    } else {
      // A handler that throws is a failed run, never a crashed scheduler.
      try {
        run_context ctx{t->key, t->what, t->cancelled};
        outcome = fn(ctx);
        if (t->cancelled->load() && outcome.ok)
          outcome = {false, reason(), outcome.output_tail};
      } catch (const std::exception& x) {
        outcome = {false, x.what(), {}};
      } catch (...) {
        outcome = {false, "the handler threw a non-standard exception", {}};
      }
    }
    outcome.output_tail = output_tail(outcome.output_tail);
    // An error quotes what the target said (an exception's text, a status line): bounded and
    // valid UTF-8 like the output.
    outcome.error = output_tail(outcome.error);
    auto took = std::chrono::duration_cast<duration>(std::chrono::steady_clock::now() - start);
    bool report;
    {
      std::lock_guard guard{mtx_};
      report = !t->cut_off;
    }
    if (report)
      t->done(t->key, std::move(outcome), took);
    std::lock_guard guard{mtx_};
    running_.erase(std::find(running_.begin(), running_.end(), t));
    idle_cv_.notify_all();
  }
}

std::size_t executor::stop(duration grace) {
  std::unique_lock lock{mtx_};
  stopping_ = true;
  queue_.clear();
  cv_.notify_all();
  idle_cv_.wait_for(lock, grace, [&] { return running_.empty(); });
  for (auto& t : running_) {
    t->cut_off = true;
    t->cancelled->store(true);
  }
  return running_.size();
}

} // namespace almanac
