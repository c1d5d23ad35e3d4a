// The on-disk names: every tag below is written down once and never reused or renumbered.
// Adding an event type appends a tag; changing a type's fields bumps codec_version and teaches
// the loader the old layout. What each version added (a loader reads a field only from the
// version that has it, so a log of any older version replays unchanged):
//   2: RunAbandoned.infra_failures (u32, last); job_state.consecutive_infra_failures (u32, last).
//   3: exec_target.secret_env and http_target.secret_headers (a map of name to secret_ref:
//      u8 source, string name; last in the target).
#include "events/codec.hpp"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <array>
#include <utility>
#include <sstream>
#include <streambuf>

namespace almanac {
namespace {

// The input being decoded on this thread, so that the size check below knows how much is left,
// and its format version, so that a loader reads the layout that version wrote.
thread_local std::streambuf* decoding = nullptr;
thread_local std::uint8_t decoding_version = codec_version;

struct decoding_scope {
  decoding_scope(std::streambuf* buf, std::uint8_t version)
    : previous(decoding), previous_version(decoding_version) {
    decoding = buf;
    decoding_version = version;
  }
  ~decoding_scope() {
    decoding = previous;
    decoding_version = previous_version;
  }
  decoding_scope(const decoding_scope&) = delete;
  decoding_scope& operator=(const decoding_scope&) = delete;
  std::streambuf* previous;
  std::uint8_t previous_version;
};

} // namespace
} // namespace almanac

namespace cereal {

// cereal reads a string's, vector's or map's element count and resizes before reading the
// elements, so a corrupt count made the decoder allocate whatever it said (fuzz/decoder_fuzz.cpp
// found a flipped length asking for 8 EiB; a peer's admin message could do the same). Every
// element of Almanac's containers takes at least one byte, so a count above the bytes left is
// corrupt: refused here, before anything is allocated. Being a non-template, this overload wins
// over cereal's template serialize of SizeTag<T>; it must precede the loaders' instantiation.
static void serialize(PortableBinaryInputArchive& ar, SizeTag<std::uint64_t&>& t) {
  ar(t.size);
  if (auto* in = almanac::decoding; in && t.size > static_cast<std::uint64_t>(in->in_avail()))
    throw Exception("a length of " + std::to_string(t.size) + " exceeds the " +
                    std::to_string(in->in_avail()) + " bytes left");
}

// A bool is one byte on disk; any value but 0 and 1 is corruption, and copying it into a bool
// as cereal does is undefined behaviour (UBSan in fuzz/decoder_fuzz.cpp: "load of value 128").
static void load(PortableBinaryInputArchive& ar, bool& b) {
  std::uint8_t v = 0;
  ar(v);
  if (v > 1)
    throw Exception("a boolean byte of " + std::to_string(v));
  b = v == 1;
}

} // namespace cereal

namespace almanac {

// --- cereal serializers --------------------------------------------------------------------------

template <class Archive>
void serialize(Archive& ar, job_id& id) {
  ar(id.value);
}

namespace {

// Schedule and target kinds on disk.
enum : std::uint8_t { sched_at = 1, sched_every = 2, sched_cron = 3 };
enum : std::uint8_t { target_handler = 1, target_exec = 2, target_http = 3 };

// Cron schedules are stored as text and compiled on load; a load failure (a zone this machine's
// tzdata lacks) surfaces as this exception and becomes an error naming the event.
struct schedule_load_error {
  error err;
};

template <class Archive>
void save_enum(Archive& ar, auto e) {
  ar(static_cast<std::uint8_t>(e));
}
template <class Enum, class Archive>
void load_enum(Archive& ar, Enum& e, std::uint8_t max) {
  std::uint8_t v = 0;
  ar(v);
  if (v > max)
    throw cereal::Exception("enum value " + std::to_string(v) + " out of range");
  e = static_cast<Enum>(v);
}

} // namespace

template <class Archive>
void save(Archive& ar, const schedule& s) {
  if (auto* a = std::get_if<at_schedule>(&s)) {
    ar(std::uint8_t{sched_at}, a->at);
  } else if (auto* e = std::get_if<every_schedule>(&s)) {
    ar(std::uint8_t{sched_every}, e->interval, e->anchor);
    save_enum(ar, e->mode);
  } else {
    auto& c = std::get<cron_schedule>(s);
    ar(std::uint8_t{sched_cron}, c.expr, c.zone);
  }
}
template <class Archive>
void load(Archive& ar, schedule& s) {
  std::uint8_t kind = 0;
  ar(kind);
  switch (kind) {
    case sched_at: {
      at_schedule a;
      ar(a.at);
      s = a;
      return;
    }
    case sched_every: {
      every_schedule e;
      ar(e.interval, e.anchor);
      load_enum(ar, e.mode, 1);
      s = e;
      return;
    }
    case sched_cron: {
      cron_schedule c;
      ar(c.expr, c.zone);
      s = std::move(c);
      if (auto r = compile(s); !r)
        throw schedule_load_error{std::move(r).err()};
      return;
    }
  }
  throw cereal::Exception("unknown schedule kind " + std::to_string(kind));
}

template <class Archive>
void save(Archive& ar, const secret_ref& r) {
  save_enum(ar, r.source);
  ar(r.name);
}
template <class Archive>
void load(Archive& ar, secret_ref& r) {
  load_enum(ar, r.source, 1);
  ar(r.name);
}

template <class Archive>
void save(Archive& ar, const target& t) {
  if (auto* h = std::get_if<handler_target>(&t)) {
    ar(std::uint8_t{target_handler}, h->name, h->payload);
  } else if (auto* e = std::get_if<exec_target>(&t)) {
    ar(std::uint8_t{target_exec}, e->argv, e->env, e->cwd, e->secret_env);
  } else {
    auto& h2 = std::get<http_target>(t);
    ar(std::uint8_t{target_http}, h2.method, h2.url, h2.headers, h2.body, h2.secret_headers);
  }
}
template <class Archive>
void load(Archive& ar, target& t) {
  std::uint8_t kind = 0;
  ar(kind);
  switch (kind) {
    case target_handler: {
      handler_target h;
      ar(h.name, h.payload);
      t = std::move(h);
      return;
    }
    case target_exec: {
      exec_target e;
      ar(e.argv, e.env, e.cwd);
      if (decoding_version >= 3)
        ar(e.secret_env);
      t = std::move(e);
      return;
    }
    case target_http: {
      http_target h;
      ar(h.method, h.url, h.headers, h.body);
      if (decoding_version >= 3)
        ar(h.secret_headers);
      t = std::move(h);
      return;
    }
  }
  throw cereal::Exception("unknown target kind " + std::to_string(kind));
}

template <class Archive>
void save(Archive& ar, const job_policies& p) {
  save_enum(ar, p.misfire);
  ar(p.catch_up_limit);
  save_enum(ar, p.overlap);
  ar(p.max_consecutive_errors, p.backoff, p.timeout, p.jitter, p.misfire_grace, p.end_at,
     p.max_runs, p.group, p.delete_after_run);
}
template <class Archive>
void load(Archive& ar, job_policies& p) {
  load_enum(ar, p.misfire, 2);
  ar(p.catch_up_limit);
  load_enum(ar, p.overlap, 2);
  ar(p.max_consecutive_errors, p.backoff, p.timeout, p.jitter, p.misfire_grace, p.end_at,
     p.max_runs, p.group, p.delete_after_run);
}

template <class Archive>
void serialize(Archive& ar, job_created& e) {
  ar(e.name, e.sched, e.what, e.policies, e.created_by, e.next_run_at);
}
template <class Archive>
void serialize(Archive& ar, job_updated& e) {
  ar(e.name, e.sched, e.what, e.policies, e.next_run_at);
}
template <class Archive>
void serialize(Archive&, job_paused&) {
  // nop: the note travels in the envelope
}
template <class Archive>
void serialize(Archive& ar, job_resumed& e) {
  ar(e.next_run_at);
}
template <class Archive>
void serialize(Archive& ar, job_revived& e) {
  ar(e.cleared_errors, e.next_run_at);
}
template <class Archive>
void save(Archive& ar, const run_started& e) {
  ar(e.run_id, e.scheduled_for);
  save_enum(ar, e.trigger);
  ar(e.next_run_at);
}
template <class Archive>
void load(Archive& ar, run_started& e) {
  ar(e.run_id, e.scheduled_for);
  load_enum(ar, e.trigger, 3);
  ar(e.next_run_at);
}
template <class Archive>
void serialize(Archive& ar, run_succeeded& e) {
  ar(e.run_id, e.took, e.output_tail, e.next_run_at);
}
template <class Archive>
void serialize(Archive& ar, run_failed& e) {
  ar(e.run_id, e.error, e.consecutive_errors, e.next_run_at, e.took, e.output_tail);
}
template <class Archive>
void save(Archive& ar, const run_skipped& e) {
  ar(e.scheduled_for);
  save_enum(ar, e.reason);
  ar(e.next_run_at);
}
template <class Archive>
void load(Archive& ar, run_skipped& e) {
  ar(e.scheduled_for);
  load_enum(ar, e.reason, 2);
  ar(e.next_run_at);
}
template <class Archive>
void serialize(Archive& ar, run_queued& e) {
  ar(e.scheduled_for, e.next_run_at);
}
template <class Archive>
void save(Archive& ar, const run_abandoned& e) {
  ar(e.run_id, e.reason, e.next_run_at, e.infra_failures);
}
template <class Archive>
void load(Archive& ar, run_abandoned& e) {
  ar(e.run_id, e.reason, e.next_run_at);
  if (decoding_version >= 2)
    ar(e.infra_failures);
}
template <class Archive>
void serialize(Archive& ar, job_failed& e) {
  ar(e.consecutive_errors, e.last_error);
}
template <class Archive>
void serialize(Archive&, job_completed&) {
  // nop: no fields
}
template <class Archive>
void serialize(Archive&, job_deleted&) {
  // nop: no fields
}
template <class Archive>
void serialize(Archive& ar, log_salvaged& e) {
  ar(e.files, e.reason, e.bytes_dropped, e.kept_through, e.seen_up_to, e.backup);
}
template <class Archive>
void serialize(Archive& ar, event_envelope& e) {
  ar(e.job, e.seq, e.recorded_at, e.actor, e.note, e.cause);
}
template <class Archive>
void save(Archive& ar, const in_flight_run& r) {
  ar(r.run_id, r.scheduled_for, r.started_at);
  save_enum(ar, r.trigger);
}
template <class Archive>
void load(Archive& ar, in_flight_run& r) {
  ar(r.run_id, r.scheduled_for, r.started_at);
  load_enum(ar, r.trigger, 3);
}
template <class Archive>
void serialize(Archive& ar, last_run_info& r) {
  ar(r.run_id, r.ok, r.error, r.started_at, r.finished_at);
}
template <class Archive>
void save(Archive& ar, const job_state& s) {
  ar(s.id, s.seq, s.deleted, s.name, s.sched, s.what, s.policies, s.created_by, s.created_at,
     s.updated_at);
  save_enum(ar, s.status);
  ar(s.next_run_at, s.consecutive_errors, s.last_error, s.runs_started,
     s.scheduled_runs_finished, s.catch_up_streak, s.in_flight, s.queued_fire, s.last_run,
     s.consecutive_infra_failures);
}
template <class Archive>
void load(Archive& ar, job_state& s) {
  ar(s.id, s.seq, s.deleted, s.name, s.sched, s.what, s.policies, s.created_by, s.created_at,
     s.updated_at);
  load_enum(ar, s.status, 3);
  ar(s.next_run_at, s.consecutive_errors, s.last_error, s.runs_started,
     s.scheduled_runs_finished, s.catch_up_streak, s.in_flight, s.queued_fire, s.last_run);
  if (decoding_version >= 2)
    ar(s.consecutive_infra_failures);
}

// --- tags ----------------------------------------------------------------------------------------

namespace {

struct tag_entry {
  std::uint16_t tag;
  std::string_view name;
};

// Each event type's tag and name, bound to the type itself: reordering event_body's alternatives
// changes nothing on disk. Tags and names are the disk format.
template <class T>
struct tag_of;
#define ALMANAC_EVENT_TAG(type, number, text)                                                     \
  template <>                                                                                     \
  struct tag_of<type> {                                                                           \
    static constexpr tag_entry value{number, text};                                               \
  }
ALMANAC_EVENT_TAG(job_created, 1, "JobCreated");
ALMANAC_EVENT_TAG(job_updated, 2, "JobUpdated");
ALMANAC_EVENT_TAG(job_paused, 3, "JobPaused");
ALMANAC_EVENT_TAG(job_resumed, 4, "JobResumed");
ALMANAC_EVENT_TAG(job_revived, 5, "JobRevived");
ALMANAC_EVENT_TAG(run_started, 6, "RunStarted");
ALMANAC_EVENT_TAG(run_succeeded, 7, "RunSucceeded");
ALMANAC_EVENT_TAG(run_failed, 8, "RunFailed");
ALMANAC_EVENT_TAG(run_skipped, 9, "RunSkipped");
ALMANAC_EVENT_TAG(run_queued, 10, "RunQueued");
ALMANAC_EVENT_TAG(run_abandoned, 11, "RunAbandoned");
ALMANAC_EVENT_TAG(job_failed, 12, "JobFailed");
ALMANAC_EVENT_TAG(job_completed, 13, "JobCompleted");
ALMANAC_EVENT_TAG(job_deleted, 14, "JobDeleted");
ALMANAC_EVENT_TAG(log_salvaged, 15, "LogSalvaged");
#undef ALMANAC_EVENT_TAG

template <std::size_t... I>
constexpr std::array<tag_entry, sizeof...(I)> make_tags(std::index_sequence<I...>) {
  return {tag_of<std::variant_alternative_t<I, event_body>>::value...};
}

// Index i holds the tag of event_body's alternative i (an alternative without a tag_of does not
// compile).
constexpr auto tags = make_tags(std::make_index_sequence<std::variant_size_v<event_body>>{});

constexpr bool tags_unique() {
  for (std::size_t i = 0; i < tags.size(); ++i)
    for (std::size_t j = i + 1; j < tags.size(); ++j)
      if (tags[i].tag == tags[j].tag || tags[i].name == tags[j].name)
        return false;
  return true;
}
static_assert(tags_unique(), "two event types share a tag or a name");
static_assert(tag_of<job_created>::value.tag == 1 && tag_of<log_salvaged>::value.tag == 15,
              "the tags are the disk format: never renumber one");

// Reads a string_view in place, so decoding copies no input.
struct view_buf : std::streambuf {
  explicit view_buf(std::string_view v) {
    auto* p = const_cast<char*>(v.data());
    setg(p, p, p + v.size());
  }
};

template <std::size_t I = 0>
event_body load_body(cereal::PortableBinaryInputArchive& ar, std::size_t index) {
  if constexpr (I < std::variant_size_v<event_body>) {
    if (index == I) {
      std::variant_alternative_t<I, event_body> body;
      ar(body);
      return body;
    }
    return load_body<I + 1>(ar, index);
  } else {
    throw cereal::Exception("unreachable event index");
  }
}

std::string where(const event_envelope& env) {
  return "job " + to_string(env.job) + " seq " + std::to_string(env.seq);
}

constexpr std::uint8_t snapshot_marker = 0xA5;

} // namespace

std::uint16_t event_tag(const event_body& body) { return tags[body.index()].tag; }

std::string_view event_name_of_tag(std::uint16_t tag) {
  for (const auto& t : tags)
    if (t.tag == tag)
      return t.name;
  return {};
}

std::string encode_event(const event& e) {
  std::ostringstream out;
  auto tag = event_tag(e.body);
  out.put(static_cast<char>(codec_version));
  out.put(static_cast<char>(tag & 0xff));
  out.put(static_cast<char>(tag >> 8));
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(e.env);
    std::visit([&](const auto& body) { ar(body); }, e.body);
  }
  return std::move(out).str();
}

result<event> decode_event(std::string_view bytes) {
  if (bytes.size() < 3)
    return fail(errc::corrupt_event,
                "event of " + std::to_string(bytes.size()) + " bytes is too short to decode");
  auto version = static_cast<std::uint8_t>(bytes[0]);
  auto tag = static_cast<std::uint16_t>(static_cast<std::uint8_t>(bytes[1])
                                        | static_cast<std::uint8_t>(bytes[2]) << 8);
  event e;
  view_buf buf{bytes.substr(3)};
  decoding_scope scope{&buf, version};
  std::istream in(&buf);
  try {
    cereal::PortableBinaryInputArchive ar(in);
    ar(e.env);
    if (version > codec_version)
      return fail(errc::newer_format, where(e.env) + ": event format version " +
                                        std::to_string(version) + " is newer than this build's " +
                                        std::to_string(codec_version) + "; upgrade Almanac");
    std::size_t index = tags.size();
    for (std::size_t i = 0; i < tags.size(); ++i)
      if (tags[i].tag == tag)
        index = i;
    if (index == tags.size())
      return fail(errc::unknown_event,
                  where(e.env) + ": unknown event type tag " + std::to_string(tag));
    e.body = load_body(ar, index);
  } catch (const schedule_load_error& x) {
    return fail(x.err.code, where(e.env) + ": " + x.err.message);
  } catch (const std::exception& x) {
    // The envelope may have been read before the failure; name what is known.
    return fail(errc::corrupt_event, (e.env.seq ? where(e.env) + ": " : std::string{}) +
                                       "undecodable event (tag " + std::to_string(tag) +
                                       "): " + x.what());
  }
  if (in.peek() != std::char_traits<char>::eof())
    return fail(errc::corrupt_event, where(e.env) + ": trailing bytes after the event");
  return e;
}

std::string encode_state(const job_state& s) {
  std::ostringstream out;
  out.put(static_cast<char>(snapshot_marker));
  out.put(static_cast<char>(codec_version));
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(s);
  }
  return std::move(out).str();
}

result<job_state> decode_state(std::string_view bytes) {
  if (bytes.size() < 2 || static_cast<std::uint8_t>(bytes[0]) != snapshot_marker)
    return fail(errc::corrupt_event, "snapshot is not in Almanac's snapshot format");
  if (static_cast<std::uint8_t>(bytes[1]) > codec_version)
    return fail(errc::newer_format, "snapshot format version " +
                                      std::to_string(static_cast<std::uint8_t>(bytes[1])) +
                                      " is newer than this build's");
  job_state s;
  view_buf buf{bytes.substr(2)};
  decoding_scope scope{&buf, static_cast<std::uint8_t>(bytes[1])};
  std::istream in(&buf);
  try {
    cereal::PortableBinaryInputArchive ar(in);
    ar(s);
  } catch (const schedule_load_error& x) {
    return x.err;
  } catch (const std::exception& x) {
    return fail(errc::corrupt_event, std::string{"undecodable snapshot: "} + x.what());
  }
  if (in.peek() != std::char_traits<char>::eof())
    return fail(errc::corrupt_event, "trailing bytes after the snapshot");
  return s;
}

} // namespace almanac
