// The binary form of events and snapshots in the log. Layout of an event value:
//   u8 format version | u16 type tag | envelope | body (cereal portable binary)
// Tags and names are written down in codec.cpp, never derived from C++ types, so renaming a type
// never changes the log. Decoding never skips: an unknown tag, a newer version or bytes that do
// not decode are errors naming the job id and sequence.
#pragma once

#include "events/event.hpp"

#include <almanac/job_state.hpp>
#include <almanac/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace almanac {

// The version written by this build. Decoders accept versions <= this and read each older
// version's layout (codec.cpp lists what each version added).
inline constexpr std::uint8_t codec_version = 3;

std::string encode_event(const event& e);

// Errors: unknown_event (unknown tag), newer_format (version > codec_version), corrupt_event
// (anything else). The messages name job id and sequence where the envelope could be read.
result<event> decode_event(std::string_view bytes);

// The stable tag of an event type, and the name for a tag ("JobRevived"); empty when unknown.
std::uint16_t event_tag(const event_body& body);
std::string_view event_name_of_tag(std::uint16_t tag);

// Snapshots of job_state. Errors as decode_event; a caller that cannot decode a snapshot replays
// the stream from the start instead.
std::string encode_state(const job_state& s);
result<job_state> decode_state(std::string_view bytes);

} // namespace almanac
