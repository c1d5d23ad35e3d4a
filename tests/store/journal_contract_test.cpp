// The journal contract (store/journal.hpp), written once and run against both backends: what
// the runtime relies on must hold, errors included, whether the log is RocksDB or PostgreSQL.
#include "journal_backends.hpp"

#include "store/postgres/detail/pg_test_hooks.hpp"

#include "events/codec.hpp"
#include "events/decide.hpp"
#include "events/evolve.hpp"

#include <future>
#include <map>

namespace almanac::store::test {
namespace {

constexpr job_id job_a{0x2a1};
constexpr job_id job_b{0x2a2};
constexpr job_id job_c{0x2a3};
// The top bit set: a negative bigint in PostgreSQL, still last in job id order.
constexpr job_id job_high{0x8000000000000001};

std::vector<std::pair<std::uint64_t, std::string>> global_of(const journal& log,
                                                             std::uint64_t from = 1) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  must(log.read_all(from, [&](std::uint64_t position, const event& e) {
    out.emplace_back(position, to_string(e.env.job) + "/" + std::to_string(e.env.seq));
    return true;
  }));
  return out;
}

std::vector<std::string> encoded(const std::vector<event>& events) {
  std::vector<std::string> out;
  for (auto& e : events)
    out.push_back(encode_event(e));
  return out;
}

TEMPLATE_TEST_CASE("an append reads back event for event with its positions", "[store][journal]",
                   rocksdb_backend, postgres_backend) {
  TestType b;
  auto events = make_events(job_a, 0, 3);
  std::uint64_t first = 0;
  must(b.log().append(job_a, 0, events, &first));
  CHECK(first == 1);
  CHECK(encoded(stream_of(b.log(), job_a)) == encoded(events));
  CHECK(highest_of(b.log(), job_a) == 3);
  CHECK(position_of(b.log()) == 3);
  must(b.log().append(job_a, 3, make_events(job_a, 3, 2), &first));
  CHECK(first == 4);

  std::vector<event> some;
  must(b.log().read_stream(job_a, 2, 4, max_count, some));
  CHECK(seqs(some) == std::vector<std::uint64_t>{2, 3, 4});
  some.clear();
  must(b.log().read_stream(job_a, 2, max_seq, 2, some));
  CHECK(seqs(some) == std::vector<std::uint64_t>{2, 3});
  some.clear();
  must(b.log().read_stream(job_a, 4, 2, max_count, some));
  CHECK(some.empty());

  std::vector<std::uint64_t> scanned;
  must(b.log().scan_stream(job_a, 1, max_seq, [&](const event& e) {
    scanned.push_back(e.env.seq);
    return e.env.seq < 3;
  }));
  CHECK(scanned == std::vector<std::uint64_t>{1, 2, 3});

  SECTION("and again after a reopen") {
    must(b.reopen());
    CHECK(seqs(stream_of(b.log(), job_a)) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
    must(b.log().append(job_a, 5, make_events(job_a, 5, 1), &first));
    CHECK(first == 6);
  }
}

TEMPLATE_TEST_CASE("an unknown job has highest sequence 0 and no events in either backend",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  CHECK(highest_of(b.log(), job_b) == 0);
  CHECK(stream_of(b.log(), job_b).empty());
  CHECK(position_of(b.log()) == 0);
  CHECK(global_of(b.log()).empty());
  job_state state;
  must(b.log().load_job(job_b, state));
  CHECK(state.seq == 0);
  CHECK(state.id == job_b);
}

TEMPLATE_TEST_CASE("a stale expected sequence is a conflict that names the job and writes nothing",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  must(b.log().append(job_a, 0, make_events(job_a, 0, 2)));
  auto st = b.log().append(job_a, 1, make_events(job_a, 1, 3));
  CHECK(st.get_code() == status::code::conflict);
  CHECK(st.message().find(to_string(job_a)) != std::string::npos);
  CHECK(to_error(st).code == errc::conflict);
  st = b.log().append(job_b, 4, make_events(job_b, 4, 1));
  CHECK(st.get_code() == status::code::conflict);
  CHECK(highest_of(b.log(), job_a) == 2);
  CHECK(highest_of(b.log(), job_b) == 0);
  CHECK(position_of(b.log()) == 2);
  CHECK(global_of(b.log()).size() == 2);
  std::uint64_t first = 0;
  must(b.log().append(job_a, 2, make_events(job_a, 2, 1), &first));
  CHECK(first == 3);
}

TEMPLATE_TEST_CASE("a conflicting append in a group fails alone and the others commit",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  must(b.log().append(job_c, 0, make_events(job_c, 0, 1)));
  std::vector<std::promise<std::pair<status, std::uint64_t>>> done(4);
  auto callback = [&](std::size_t i) {
    return [&done, i](status st, std::uint64_t first) {
      done[i].set_value({std::move(st), first});
    };
  };
  // Queued back to back, so the writer is free to take them into one group.
  b.log().append_async(job_a, 0, make_events(job_a, 0, 2), callback(0));
  b.log().append_async(job_a, 0, make_events(job_a, 0, 1), callback(1));
  b.log().append_async(job_b, 0, make_events(job_b, 0, 1), callback(2));
  b.log().append_async(job_a, 2, make_events(job_a, 2, 1), callback(3));
  std::vector<std::pair<status, std::uint64_t>> r;
  for (auto& d : done)
    r.push_back(d.get_future().get());
  CHECK(r[0].first.is_ok());
  CHECK(r[1].first.get_code() == status::code::conflict);
  CHECK(r[2].first.is_ok());
  CHECK(r[3].first.is_ok());
  CHECK(r[0].second == 2);
  CHECK(r[2].second == 4);
  CHECK(r[3].second == 5);
  CHECK(seqs(stream_of(b.log(), job_a)) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(highest_of(b.log(), job_b) == 1);
  CHECK(position_of(b.log()) == 5);
}

TEMPLATE_TEST_CASE("an envelope with the wrong job or sequence is refused and changes nothing",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  must(b.log().append(job_a, 0, make_events(job_a, 0, 1)));
  auto wrong_job = make_events(job_b, 1, 1);
  auto st = b.log().append(job_a, 1, wrong_job);
  CHECK(st.get_code() == status::code::invalid_argument);
  CHECK(st.message().find(to_string(job_b)) != std::string::npos);
  auto wrong_seq = make_events(job_a, 2, 1);
  st = b.log().append(job_a, 1, wrong_seq);
  CHECK(st.get_code() == status::code::invalid_argument);
  CHECK(st.message().find("has seq 3, expected 2") != std::string::npos);
  st = b.log().append(job_a, 1, {});
  CHECK(st.get_code() == status::code::invalid_argument);
  std::promise<status> async_done;
  b.log().append_async(job_a, 1, wrong_seq,
                       [&](status s, std::uint64_t) { async_done.set_value(std::move(s)); });
  CHECK(async_done.get_future().get().get_code() == status::code::invalid_argument);
  CHECK(highest_of(b.log(), job_a) == 1);
  CHECK(position_of(b.log()) == 1);
}

TEMPLATE_TEST_CASE("read_all gives every event in commit order from a position", "[store][journal]",
                   rocksdb_backend, postgres_backend) {
  TestType b;
  must(b.log().append(job_a, 0, make_events(job_a, 0, 2)));
  must(b.log().append(job_b, 0, make_events(job_b, 0, 1)));
  must(b.log().append(job_a, 2, make_events(job_a, 2, 1)));
  must(b.log().append(job_c, 0, make_events(job_c, 0, 2)));
  using row = std::pair<std::uint64_t, std::string>;
  auto a = to_string(job_a), bb = to_string(job_b), c = to_string(job_c);
  CHECK(
    global_of(b.log())
    == std::vector<row>{
      {1, a + "/1"}, {2, a + "/2"}, {3, bb + "/1"}, {4, a + "/3"}, {5, c + "/1"}, {6, c + "/2"}});
  CHECK(global_of(b.log(), 4) == std::vector<row>{{4, a + "/3"}, {5, c + "/1"}, {6, c + "/2"}});
  CHECK(global_of(b.log(), 7).empty());
  std::vector<std::uint64_t> first_two;
  must(b.log().read_all(1, [&](std::uint64_t position, const event&) {
    first_two.push_back(position);
    return first_two.size() < 2;
  }));
  CHECK(first_two == std::vector<std::uint64_t>{1, 2});
  CHECK(position_of(b.log()) == 6);
}

TEMPLATE_TEST_CASE("for_each_stream lists every job in unsigned id order with its highest sequence",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  must(b.log().append(job_high, 0, make_events(job_high, 0, 1)));
  must(b.log().append(job_b, 0, make_events(job_b, 0, 3)));
  must(b.log().append(job_a, 0, make_events(job_a, 0, 2)));
  auto deleted = make_event(job_a, 3, job_deleted{}, t0 + std::chrono::hours{1});
  must(b.log().append(job_a, 2, {deleted}));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
  std::optional<instant> deleted_at;
  must(b.log().for_each_stream([&](const stream_info& info) {
    seen.emplace_back(info.job.value, info.highest_seq);
    if (info.job == job_a)
      deleted_at = info.deleted_at;
    CHECK_FALSE(info.purged);
    return true;
  }));
  CHECK(seen
        == std::vector<std::pair<std::uint64_t, std::uint64_t>>{
          {job_a.value, 3}, {job_b.value, 3}, {job_high.value, 1}});
  REQUIRE(deleted_at.has_value());
  CHECK(*deleted_at == t0 + std::chrono::hours{1});
  std::size_t calls = 0;
  must(b.log().for_each_stream([&](const stream_info&) { return ++calls < 2; }));
  CHECK(calls == 2);
}

// A job's life through decide, as the job actor appends it.
struct driven {
  job_state state;
  instant now = t0;
  void send(journal& log, command_body body) {
    auto events = decide(state, command{std::move(body), "user:alice", {}}, now);
    INFO((events ? std::string{} : events.err().message));
    REQUIRE(events.ok());
    must(log.append(state.id.value ? state.id : job_a, state.seq, *events));
    for (auto& e : *events)
      state = evolve(std::move(state), e);
    now += std::chrono::minutes{1};
  }
};

TEMPLATE_TEST_CASE("a snapshot plus the later events loads the same job as the full fold",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  driven j;
  j.send(b.log(), create_job{job_a,
                             "report",
                             every_schedule{std::chrono::hours{1}, {}, every_anchor::grid},
                             handler_target{"noop", ""},
                             {}});
  j.send(b.log(), pause_job{});
  must(b.log().save_snapshot(job_a, j.state));
  auto at_snapshot = j.state;
  j.send(b.log(), resume_job{});
  j.send(b.log(), pause_job{});

  loaded_snapshot snap;
  must(b.log().load_latest_snapshot(job_a, snap));
  REQUIRE(snap.state.has_value());
  CHECK(snap.warning.empty());
  CHECK(encode_state(*snap.state) == encode_state(at_snapshot));

  job_state full;
  full.id = job_a;
  for (auto& e : stream_of(b.log(), job_a))
    full = evolve(std::move(full), e);
  job_state loaded;
  std::string warning = "untouched";
  must(b.log().load_job(job_a, loaded, &warning));
  CHECK(warning.empty());
  CHECK(encode_state(loaded) == encode_state(full));
  CHECK(encode_state(loaded) == encode_state(j.state));

  std::vector<std::string> all;
  must(b.log().load_jobs([&](job_state&& s, const std::string& w) {
    CHECK(w.empty());
    all.push_back(encode_state(s));
    return true;
  }));
  CHECK(all == std::vector<std::string>{encode_state(j.state)});

  SECTION("a snapshot of another job, at seq 0 or beyond the stream is refused") {
    auto other = j.state;
    other.id = job_b;
    auto st = b.log().save_snapshot(job_a, other);
    CHECK(st.get_code() == status::code::invalid_argument);
    CHECK(st.message()
          == "snapshot of job " + to_string(job_a) + " holds the state of job "
               + to_string(job_b));
    auto zero = j.state;
    zero.seq = 0;
    st = b.log().save_snapshot(job_a, zero);
    CHECK(st.get_code() == status::code::invalid_argument);
    CHECK(st.message() == "snapshot of job " + to_string(job_a) + " at seq 0");
    auto beyond = j.state;
    beyond.seq = 99;
    st = b.log().save_snapshot(job_a, beyond);
    CHECK(st.get_code() == status::code::invalid_argument);
    CHECK(st.message()
          == "snapshot of job " + to_string(job_a) + " at seq 99 but the stream is at 4");
    must(b.log().load_latest_snapshot(job_a, snap));
    REQUIRE(snap.state.has_value());
    CHECK(snap.state->seq == at_snapshot.seq);
  }
}

// Pages of two streams and three events: a handful of jobs crosses every boundary PostgreSQL's
// load_jobs has (RocksDB's does not page).
struct small_load_pages {
  detail::load_jobs_pages saved = detail::set_load_jobs_pages({2, 3});
  ~small_load_pages() { detail::set_load_jobs_pages(saved); }
};

// The fold of the first `upto` events of the job's stream.
job_state fold_of(const journal& log, job_id job, std::uint64_t upto = max_seq) {
  job_state state;
  state.id = job;
  for (auto& e : stream_of(log, job))
    if (e.env.seq <= upto)
      state = evolve(std::move(state), e);
  return state;
}

std::vector<std::pair<job_state, std::string>> loaded_jobs(const journal& log) {
  std::vector<std::pair<job_state, std::string>> out;
  must(log.load_jobs([&](job_state&& s, const std::string& w) {
    out.emplace_back(std::move(s), w);
    return true;
  }));
  return out;
}

TEMPLATE_TEST_CASE("load_jobs folds snapshots and tails across page boundaries like a full fold",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  small_load_pages pages;
  // plain: no snapshot; tail: a snapshot and later events; covered: a snapshot at the highest
  // seq; garbled: a snapshot that does not decode; misplaced: one whose state contradicts its
  // key; long: more events than a page; gone: purged, between live streams; job_high: a
  // negative bigint, last.
  constexpr job_id plain{0x301}, tail{0x302}, gone{0x303}, covered{0x304}, garbled{0x305},
    misplaced{0x306}, long_one{0x307};
  std::map<job_id, std::uint64_t> lengths{{plain, 5},   {tail, 7},      {gone, 4},
                                          {covered, 4}, {garbled, 4},   {misplaced, 4},
                                          {long_one, 8}, {job_high, 3}};
  for (auto [job, n] : lengths)
    must(b.log().append(job, 0, make_events(job, 0, n)));
  must(b.log().append(gone, 4, {make_event(gone, 5, job_deleted{}, t0)}));
  must(b.log().save_snapshot(tail, fold_of(b.log(), tail, 3)));
  must(b.log().save_snapshot(gone, fold_of(b.log(), gone, 2)));
  must(b.log().save_snapshot(covered, fold_of(b.log(), covered)));
  must(b.log().save_snapshot(job_high, fold_of(b.log(), job_high, 2)));
  std::uint64_t purged = 0;
  must(b.log().purge_deleted(t0 + default_retention, default_retention, &purged));
  REQUIRE(purged == 1);
  b.plant_snapshot_bytes(garbled, 3, "\x01garbage");
  b.plant_snapshot_bytes(misplaced, 3, encode_state(fold_of(b.log(), misplaced, 2)));

  auto all = loaded_jobs(b.log());
  std::vector<job_id> order;
  for (auto& [state, warning] : all)
    order.push_back(state.id);
  CHECK(order
        == std::vector<job_id>{plain, tail, covered, garbled, misplaced, long_one, job_high});
  for (auto& [state, warning] : all) {
    INFO(to_string(state.id));
    CHECK(encode_state(state) == encode_state(fold_of(b.log(), state.id)));
    CHECK(state.seq == lengths[state.id]);
    if (state.id == garbled)
      CHECK(warning.find("snapshot of job " + to_string(garbled) + " at seq 3 does not decode")
            == 0);
    else if (state.id == misplaced)
      CHECK(warning
            == "snapshot of job " + to_string(misplaced) + " at seq 3 holds job "
                 + to_string(misplaced) + " seq 2");
    else
      CHECK(warning.empty());
  }
  // The same as load_job of each, warnings included.
  for (auto& [state, warning] : all) {
    job_state one;
    std::string one_warning;
    must(b.log().load_job(state.id, one, &one_warning));
    CHECK(encode_state(one) == encode_state(state));
    CHECK(one_warning == warning);
  }

  std::size_t calls = 0;
  must(b.log().load_jobs([&](job_state&&, const std::string&) { return ++calls < 3; }));
  CHECK(calls == 3);
}

TEMPLATE_TEST_CASE("load_jobs reads the log as of the call and not what is appended meanwhile",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  small_load_pages pages;
  for (std::uint64_t id = 0x401; id <= 0x406; ++id)
    must(b.log().append(job_id{id}, 0, make_events(job_id{id}, 0, 2)));
  std::vector<std::pair<job_id, std::uint64_t>> seen;
  must(b.log().load_jobs([&](job_state&& s, const std::string&) {
    // The callback may write to the log; what it writes to later jobs is not folded in.
    if (s.id == job_id{0x401}) {
      for (std::uint64_t id = 0x402; id <= 0x406; ++id)
        must(b.log().append(job_id{id}, 2, make_events(job_id{id}, 2, 1)));
      must(b.log().append(job_id{0x407}, 0, make_events(job_id{0x407}, 0, 1)));
    }
    seen.emplace_back(s.id, s.seq);
    return true;
  }));
  CHECK(seen
        == std::vector<std::pair<job_id, std::uint64_t>>{{job_id{0x401}, 2}, {job_id{0x402}, 2},
                                                         {job_id{0x403}, 2}, {job_id{0x404}, 2},
                                                         {job_id{0x405}, 2}, {job_id{0x406}, 2}});
  CHECK(loaded_jobs(b.log()).size() == 7);
}

TEMPLATE_TEST_CASE("an undecodable event is refused naming its job and sequence",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  auto events = make_events(job_a, 0, 3);
  must(b.log().append(job_a, 0, events));
  auto good = encode_event(events[1]);
  auto [bytes, code] = GENERATE_COPY(table<std::string, status::code>({
    {std::string{static_cast<char>(codec_version + 1)} + good.substr(1),
     status::code::newer_format},
    {good.substr(0, 1) + std::string{"\xff\xff"} + good.substr(3), status::code::unknown_event},
    {good.substr(0, good.size() / 2), status::code::corruption},
  }));
  b.plant_event_bytes(job_a, 2, bytes);
  std::vector<event> out;
  auto st = b.log().read_stream(job_a, 1, out);
  INFO(st.to_string());
  CHECK(st.get_code() == code);
  CHECK(st.message().find("job " + to_string(job_a) + " seq 2") != std::string::npos);
  job_state state;
  st = b.log().load_job(job_a, state);
  CHECK(st.get_code() == code);
  CHECK(st.message().find("job " + to_string(job_a) + " seq 2") != std::string::npos);
  out.clear();
  must(b.log().read_stream(job_a, 3, out));
  CHECK(seqs(out) == std::vector<std::uint64_t>{3});
}

TEMPLATE_TEST_CASE("storage written by a newer format is refused with a clear error",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  must(b.log().append(job_a, 0, make_events(job_a, 0, 1)));
  b.mark_newer_format();
  auto st = b.reopen();
  INFO(st.to_string());
  CHECK(st.get_code() == status::code::newer_format);
  CHECK(st.message().find("version " + std::to_string(TestType::newer_version))
        != std::string::npos);
  CHECK(st.message().find("upgrade Almanac") != std::string::npos);
  CHECK(to_error(st).code == errc::newer_format);
}

} // namespace
} // namespace almanac::store::test
