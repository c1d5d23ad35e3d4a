// Opens a closed log's directory with plain RocksDB (every column family the store uses) and runs
// `fn`: for tests that must damage or inspect the bytes the store wrote.
#pragma once

#include "store/detail/keys.hpp"

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace almanac::test {

inline void with_raw_db(
  const std::filesystem::path& dir,
  const std::function<void(rocksdb::DB&, std::vector<rocksdb::ColumnFamilyHandle*>&)>& fn) {
  using namespace store::detail;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (auto name : {std::string_view{rocksdb::kDefaultColumnFamilyName}, cf_streams, cf_global,
                    cf_snapshots, cf_projections, cf_checkpoints, cf_meta})
    descs.emplace_back(std::string{name}, rocksdb::ColumnFamilyOptions{});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto st = rocksdb::DB::Open(rocksdb::DBOptions{}, dir.string(), descs, &handles, &db);
  INFO(st.ToString());
  REQUIRE(st.ok());
  fn(*db, handles);
  for (auto* h : handles)
    REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
  REQUIRE(db->Close().ok());
  delete db;
}

} // namespace almanac::test
