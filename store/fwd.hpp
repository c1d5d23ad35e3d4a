// Forward declarations of the store module, for headers that only pass these types around.
#pragma once

namespace almanac::store {

class status;
class journal;
class event_log;
class pg_log;
class projection_batch;
struct open_options;
struct verify_report;
struct loaded_snapshot;
struct stream_info;

} // namespace almanac::store
