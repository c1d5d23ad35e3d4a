// The admin actor's typed interface: one request type per operation, each with its reply type.
// The same handle works in-process and, published with CAF's middleman, from another node.
#pragma once

#include <almanac/admin.hpp>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace almanac {

using admin_actor = caf::typed_actor<
  caf::replies_to<create_request>::with<job_state>,
  caf::replies_to<update_request>::with<job_state>,
  caf::replies_to<pause_request>::with<job_state>,
  caf::replies_to<resume_request>::with<job_state>,
  caf::replies_to<run_now_request>::with<job_state>,
  caf::replies_to<delete_request>::with<job_state>,
  caf::replies_to<get_request>::with<job_state>,
  caf::replies_to<list_request>::with<job_list>,
  caf::replies_to<audit_request>::with<audit_page>,
  caf::replies_to<runs_request>::with<run_page>,
  caf::replies_to<preview_request>::with<preview_result>,
  caf::replies_to<health_request>::with<health_report>>;

} // namespace almanac
