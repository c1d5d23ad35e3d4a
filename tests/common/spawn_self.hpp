// Crash tests re-execute their own test binary with a hidden Catch2 tag, so the child is a fresh
// process (safer than forking one that runs RocksDB threads) that the parent can SIGKILL.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <spawn.h>
#include <string>
#include <vector>

extern char** environ;

namespace almanac::test {

// Starts this binary running only the tests tagged `tag`, with `extra_env` ("NAME=value")
// before the inherited environment and `close_fd` (the parent's end of a pipe) closed.
inline pid_t spawn_self(const std::string& tag, std::vector<std::string> extra_env, int close_fd) {
  std::vector<char*> envp;
  for (auto& s : extra_env)
    envp.push_back(s.data());
  for (char** e = environ; *e; ++e)
    envp.push_back(*e);
  envp.push_back(nullptr);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string tag_arg = tag;
  char* argv[] = {self.data(), tag_arg.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, close_fd);
  pid_t child = 0;
  REQUIRE(::posix_spawn(&child, self.c_str(), &actions, nullptr, argv, envp.data()) == 0);
  posix_spawn_file_actions_destroy(&actions);
  return child;
}

} // namespace almanac::test
