// event_log: projections and their checkpoints.
#include "store/event_log.hpp"

#include "store/detail/keys.hpp"
#include "store/detail/log_impl.hpp"
#include "store/detail/projection_names.hpp"

#include <rocksdb/write_batch.h>

namespace almanac::store::detail {

status check_projection_name(std::string_view name) {
  if (name.empty() || name.size() > max_projection_name)
    return status::invalid_argument("projection name of " + std::to_string(name.size())
                                    + " bytes: must be 1 to "
                                    + std::to_string(max_projection_name));
  return status{};
}

std::string printable_key(std::string_view key) {
  bool text = true;
  for (unsigned char c : key)
    text = text && c >= 0x20 && c < 0x7f;
  if (text) {
    std::string out;
    out.reserve(key.size() + 2);
    out.push_back('"');
    out.append(key);
    out.push_back('"');
    return out;
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "0x";
  for (unsigned char c : key) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

} // namespace almanac::store::detail

namespace almanac::store {

using namespace detail;

status event_log::write_projections(const projection_batch& batch) {
  if (auto st = impl_->require_writable("write_projections"); !st)
    return st;
  rocksdb::WriteBatch wb;
  for (auto& op : batch.ops()) {
    if (auto st = check_projection_name(op.projection); !st)
      return st;
    switch (op.what) {
      case projection_batch::op::kind::put:
        wb.Put(impl_->projections, projection_key(op.projection, op.key), op.value);
        break;
      case projection_batch::op::kind::erase:
        wb.Delete(impl_->projections, projection_key(op.projection, op.key));
        break;
      case projection_batch::op::kind::checkpoint:
        wb.Put(impl_->checkpoints, op.projection, u64_key(op.position));
        break;
    }
  }
  return impl_->gate->write(impl_->write_options(), &wb,
                            "writing " + std::to_string(batch.size()) + " projection entries");
}

status event_log::read_checkpoint(std::string_view projection, std::uint64_t& position) const {
  position = 0;
  if (!impl_->db)
    return status::unavailable("read_checkpoint: the log is closed");
  if (auto st = check_projection_name(projection); !st)
    return st;
  std::string value;
  auto st = impl_->db->Get({}, impl_->checkpoints, projection, &value);
  if (st.IsNotFound())
    return status{};
  if (!st.ok())
    return from_rocksdb(st, "checkpoint of projection " + std::string{projection});
  if (value.size() != 8)
    return status::corruption("checkpoint of projection " + std::string{projection} + " has "
                              + std::to_string(value.size()) + " bytes");
  position = get_u64(value);
  return status{};
}

status event_log::get_projection(std::string_view projection, std::string_view key,
                                 std::string& value) const {
  if (!impl_->db)
    return status::unavailable("get_projection: the log is closed");
  if (auto st = check_projection_name(projection); !st)
    return st;
  auto where = "projection " + std::string{projection} + " key " + printable_key(key);
  auto st = impl_->db->Get({}, impl_->projections, projection_key(projection, key), &value);
  if (st.IsNotFound())
    return status::not_found(where);
  return from_rocksdb(st, where);
}

status event_log::scan_projection(std::string_view projection, const projection_scan& scan,
                                  std::vector<projection_row>& out) const {
  if (!impl_->db)
    return status::unavailable("scan_projection: the log is closed");
  if (auto st = check_projection_name(projection); !st)
    return st;
  if (scan.limit == 0)
    return status{};
  auto name_prefix = projection_prefix(projection);
  auto lower = name_prefix + scan.prefix;
  auto upper = prefix_successor(lower);
  rocksdb::Slice lower_slice{lower};
  rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  ro.iterate_lower_bound = &lower_slice;
  if (!upper.empty())
    ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(ro, impl_->projections)};
  auto from = scan.from.empty() ? std::string{} : name_prefix + scan.from;
  bool forward = scan.direction == scan_direction::forward;
  if (forward)
    it->Seek(from.empty() || from < lower ? lower : from);
  else if (from.empty() || (!upper.empty() && from >= upper))
    it->SeekToLast();
  else
    it->SeekForPrev(from);
  for (std::size_t n = 0; it->Valid() && n < scan.limit; ++n) {
    std::string_view key{it->key().data(), it->key().size()};
    out.push_back({std::string{key.substr(name_prefix.size())},
                   std::string{it->value().data(), it->value().size()}});
    if (forward)
      it->Next();
    else
      it->Prev();
  }
  return from_rocksdb(it->status(), "scanning projection " + std::string{projection});
}

status event_log::drop_projection(std::string_view projection) {
  if (auto st = impl_->require_writable("drop_projection"); !st)
    return st;
  if (auto st = check_projection_name(projection); !st)
    return st;
  auto prefix = projection_prefix(projection);
  rocksdb::WriteBatch wb;
  // The name is at most 200 bytes after a length byte, so the prefix has a successor.
  wb.DeleteRange(impl_->projections, prefix, prefix_successor(prefix));
  wb.Delete(impl_->checkpoints, projection);
  return impl_->gate->write(impl_->write_options(), &wb,
                            "dropping projection " + std::string{projection});
}

} // namespace almanac::store
