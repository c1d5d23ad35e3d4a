#include "actors/type_ids.hpp"

#include <almanac/admin.hpp>
#include <almanac/caf_error.hpp>

#include <caf/actor_system_config.hpp>

namespace almanac {

void add_message_types(caf::actor_system_config& cfg) {
  // The names are the wire names: peers on other nodes must use the same ones.
  cfg.add_message_type<job_id>("almanac::job_id")
    .add_message_type<job_state>("almanac::job_state")
    .add_message_type<std::vector<job_state>>("std::vector<almanac::job_state>")
    .add_message_type<job_spec>("almanac::job_spec")
    .add_message_type<update_job>("almanac::update_job")
    .add_message_type<schedule>("almanac::schedule")
    .add_message_type<create_request>("almanac::create_request")
    .add_message_type<update_request>("almanac::update_request")
    .add_message_type<pause_request>("almanac::pause_request")
    .add_message_type<resume_request>("almanac::resume_request")
    .add_message_type<run_now_request>("almanac::run_now_request")
    .add_message_type<delete_request>("almanac::delete_request")
    .add_message_type<get_request>("almanac::get_request")
    .add_message_type<list_request>("almanac::list_request")
    .add_message_type<job_list>("almanac::job_list")
    .add_message_type<audit_entry>("almanac::audit_entry")
    .add_message_type<std::vector<audit_entry>>("std::vector<almanac::audit_entry>")
    .add_message_type<audit_request>("almanac::audit_request")
    .add_message_type<audit_page>("almanac::audit_page")
    .add_message_type<run_record>("almanac::run_record")
    .add_message_type<std::vector<run_record>>("std::vector<almanac::run_record>")
    .add_message_type<runs_request>("almanac::runs_request")
    .add_message_type<run_page>("almanac::run_page")
    .add_message_type<preview_request>("almanac::preview_request")
    .add_message_type<preview_result>("almanac::preview_result")
    .add_message_type<health_request>("almanac::health_request")
    .add_message_type<stuck_run>("almanac::stuck_run")
    .add_message_type<std::vector<stuck_run>>("std::vector<almanac::stuck_run>")
    .add_message_type<health_report>("almanac::health_report")
    .add_message_type<run_message>("almanac::run_message")
    .add_message_type<run_reply>("almanac::run_reply");
  cfg.add_error_category(errc_category,
                         [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string out{"almanac::"};
                           out += to_string(static_cast<errc>(code));
                           if (ctx.size() == 1 && ctx.match_element<std::string>(0))
                             out += ": " + ctx.get_as<std::string>(0);
                           return out;
                         });
}

void use_work_sharing(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("sharing"));
}

} // namespace almanac
