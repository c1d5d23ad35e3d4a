// Settings of pg_log that only tests change: page sizes small enough that a handful of jobs
// crosses every page boundary the production sizes would need thousands for.
#pragma once

#include <cstddef>

namespace almanac::store::detail {

// Per query of pg_log::load_jobs: streams with their snapshots, and event rows.
struct load_jobs_pages {
  std::size_t streams = 1000;
  std::size_t events = 10000;
};

// Sets the page sizes of every pg_log's load_jobs in this process (0 counts as 1); returns the
// previous ones.
load_jobs_pages set_load_jobs_pages(load_jobs_pages pages);

} // namespace almanac::store::detail
