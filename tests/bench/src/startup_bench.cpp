#include "ates/bench/startup_bench.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ates/testing/process.hpp"
#include "ates/testing/temp_dir.hpp"

#include "http_driver.hpp"

namespace ates::bench {

namespace {

using Clock = std::chrono::steady_clock;

struct Start {
  double listening_ms = 0;  // until the "listening" line on stdout
  double ready_ms = 0;      // until /readyz answered 200
  double rss_mib = 0;       // VmRSS then
};

double rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

Start start_once(const std::string& exe, const std::filesystem::path& data,
                 std::map<std::string, std::string> env = {}) {
  env.emplace("ATES_LOG_LEVEL", "error");
  const auto begin = Clock::now();
  testing::Process serve({exe, "serve", "--data", data.string(), "--listen", "127.0.0.1:0"}, env);
  Start start;
  std::string base;
  for (;;) {
    const auto line = serve.read_line(std::chrono::seconds(30));
    if (!line) throw std::runtime_error("ates serve did not start: " + serve.stderr_text());
    if (const auto at = line->find("listening on "); at != std::string::npos) {
      base = line->substr(at + 13);
      break;
    }
  }
  start.listening_ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
  lab::HttpDriver http(base);
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (http.get("/readyz").status != 200) {
    if (Clock::now() > deadline)
      throw std::runtime_error("/readyz never answered 200: " + serve.stderr_text());
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  start.ready_ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
  start.rss_mib = rss_mib(serve.pid());
  serve.signal(SIGTERM);
  const auto status = serve.wait(std::chrono::seconds(30));
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
    throw std::runtime_error("ates serve did not stop cleanly: " + serve.stderr_text());
  return start;
}

void print(std::ostream& out, const std::string& label, std::vector<Start> starts) {
  const auto stat = [&](auto field, double& min, double& median) {
    std::vector<double> values;
    for (const auto& s : starts) values.push_back(s.*field);
    std::sort(values.begin(), values.end());
    min = values.front();
    median = values[values.size() / 2];
  };
  double ready_min, ready_median, listen_min, listen_median, rss_min, rss_median;
  stat(&Start::ready_ms, ready_min, ready_median);
  stat(&Start::listening_ms, listen_min, listen_median);
  stat(&Start::rss_mib, rss_min, rss_median);
  out << std::fixed << std::setprecision(1) << label << " (" << starts.size() << " runs):\n"
      << "  exec -> /readyz 200:      min " << std::setw(6) << ready_min << " ms  median " << std::setw(6)
      << ready_median << " ms  = " << std::setprecision(0) << 100 * ready_median / 300
      << "% of the 300 ms target\n"
      << std::setprecision(1) << "  exec -> listening line:   min " << std::setw(6) << listen_min
      << " ms  median " << std::setw(6) << listen_median << " ms\n"
      << "  RSS when ready:           min " << std::setw(6) << rss_min << " MiB median " << std::setw(6)
      << rss_median << " MiB\n";
}

}  // namespace

void run_startup_bench(const StartupBenchOptions& options, std::ostream& out) {
  // `ates` itself, beside this program.
  const std::string exe = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "ates").string();
  std::vector<Start> first, again, cheap;
  for (int run = 0; run < options.runs; ++run) {
    testing::TempDir temp("ates-bench-startup");
    first.push_back(start_once(exe, temp.path() / "data"));
    again.push_back(start_once(exe, temp.path() / "data"));
    // auth hashes a random password once at start (argon2id at the
    // configured limits) so that a log-in of an unknown user costs what a
    // known one does; with the minimum limits that hash is nearly free,
    // which shows what the rest of the start-up costs.
    cheap.push_back(start_once(exe, temp.path() / "data", {{"ATES_AUTH_PASSWORD_HASH", "min"}}));
  }
  out << "ates serve with auth, tracker, accounting and analytics, HTTP on loopback\n";
  print(out, "first start, empty data directory (environments, keys, a first admin)", first);
  print(out, "restart on that data", again);
  print(out, "restart with auth.password_hash = min (no interactive argon2id hash at start)", cheap);
  const auto median = [](std::vector<Start> starts) {
    std::sort(starts.begin(), starts.end(),
              [](const Start& a, const Start& b) { return a.ready_ms < b.ready_ms; });
    return starts[starts.size() / 2].ready_ms;
  };
  out << std::fixed << std::setprecision(0) << "the start-up hash of auth is "
      << median(again) - median(cheap) << " ms of the restart's median " << median(again) << " ms\n";
}

}  // namespace ates::bench
