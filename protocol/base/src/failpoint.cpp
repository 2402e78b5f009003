#include "ates/base/failpoint.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace ates::base {

namespace {

struct Armed {
  std::string name;
  long remaining = 0;
};

// Parsed once; a null pointer when no failpoint is armed.
const Armed* armed() {
  static const Armed* const instance = []() -> const Armed* {
    const char* spec = std::getenv("ATES_FAILPOINT");
    if (spec == nullptr || *spec == '\0') return nullptr;
    auto* result = new Armed;  // lives for the process
    const std::string text(spec);
    const auto colon = text.find(':');
    result->name = text.substr(0, colon);
    result->remaining = colon == std::string::npos ? 1 : std::max(1L, std::atol(text.c_str() + colon + 1));
    return result;
  }();
  return instance;
}

std::atomic<long> passes{0};

}  // namespace

void failpoint(std::string_view name) {
  const Armed* point = armed();
  if (point == nullptr || point->name != name) return;
  if (passes.fetch_add(1) + 1 < point->remaining) return;
  // write(2) rather than stdio: nothing buffered may run on the way down.
  const std::string message = "failpoint " + point->name + " hit: killing the process\n";
  [[maybe_unused]] auto written = ::write(2, message.data(), message.size());
  ::kill(::getpid(), SIGKILL);
}

}  // namespace ates::base
