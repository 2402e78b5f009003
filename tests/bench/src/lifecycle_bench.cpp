#include "ates/bench/lifecycle_bench.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iomanip>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "ates/testing/temp_dir.hpp"

#include "audit.hpp"
#include "lab_host.hpp"

namespace ates::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kClients = 8;
constexpr char kTasks[] = "/api/v1/tracker/tasks";

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::max<std::size_t>(rank, 1) - 1];
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

void run_lifecycle_bench(const LifecycleBenchOptions& options, std::ostream& out) {
  lab::init_http();
  testing::TempDir temp("ates-bench-lifecycle");
  const std::filesystem::path root = options.dir.empty() ? temp.path() : std::filesystem::path(options.dir);
  if (std::filesystem::exists(root / "data") && !std::filesystem::is_empty(root / "data")) {
    throw std::runtime_error((root / "data").string() + " holds data already; give --dir an empty directory");
  }
  const int workers = options.full ? 1000 : 100;
  const std::size_t tasks = options.full ? 100000 : 10000;

  // Events mode, the default. LabHost fixes the price key and the seed, so
  // runs draw alike, but concurrent clients interleave differently each
  // time: two runs do comparable work, not the same.
  lab::LabHost lab(root / "data", {.environment = {{"ATES_TRACKER_CHARGE_LINK", "events"},
                                                   {"ATES_HTTP_HANDLE_TIMEOUT_MS", "600000"}}});
  const auto setup_start = Clock::now();
  const std::string manager = lab.add_user("mgr", "manager");
  lab.add_user("boss", "admin");
  std::map<std::string, std::string> token_of;  // user id -> token
  for (int w = 0; w < workers; ++w) {
    const std::string name = "wk" + std::to_string(w);
    token_of[lab.user_id(name)] = lab.add_user(name, "worker");
  }
  lab.sync("auth.users", "tracker");
  lab.sync("auth.users", "accounting");
  lab.sync("auth.users", "analytics");
  out << "set-up: " << workers << " workers added and logged in, in " << std::fixed << std::setprecision(1)
      << seconds_since(setup_start) << " s\n";

  // Each client: create a task (assigned on creation), then its assignee
  // completes it; both answered after their commits.
  std::atomic<std::size_t> next{0};
  std::mutex mutex;  // guards create_ms, complete_ms, error
  std::vector<double> create_ms, complete_ms;
  std::exception_ptr error;
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&] {
      lab::HttpDriver http(lab.base());
      std::vector<double> creates, completes;
      try {
        for (std::size_t n = next++; n < tasks; n = next++) {
          const std::string body = nlohmann::json{{"title", "lifecycle " + std::to_string(n)}}.dump();
          const auto created = http.post(kTasks, manager, body);
          if (created.status != 201)
            throw std::runtime_error("POST /tasks answered " + std::to_string(created.status) + ": " +
                                     created.body);
          creates.push_back(created.ms);
          const auto task = created.json()["task"];
          const auto done = http.post(std::string(kTasks) + "/" + task["id"].get<std::string>() + "/complete",
                                      token_of.at(task["assignee_id"]));
          if (done.status != 200)
            throw std::runtime_error("POST /complete answered " + std::to_string(done.status) + ": " +
                                     done.body);
          completes.push_back(done.ms);
        }
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
        next = tasks;
      }
      std::lock_guard lock(mutex);
      create_ms.insert(create_ms.end(), creates.begin(), creates.end());
      complete_ms.insert(complete_ms.end(), completes.begin(), completes.end());
    });
  }
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  const double drive_s = seconds_since(start);
  const auto last_answer = Clock::now();

  // Converged: accounting has every tracker event, analytics every ledger
  // entry and every tracker event (titles), and the money reconciles.
  lab.sync("tracker.tasks", "accounting", std::chrono::minutes(10));
  const double accounting_s = seconds_since(last_answer);
  lab.sync("accounting.transactions", "analytics", std::chrono::minutes(10));
  lab.sync("tracker.tasks", "analytics", std::chrono::minutes(10));
  const double analytics_s = seconds_since(last_answer);
  std::ostringstream audit;
  const auto verdict = server::print_audit(lab.host().audit(), lab.data().string(), audit);
  const double audited_s = seconds_since(last_answer);
  if (!verdict.clean())
    throw std::runtime_error("the money does not reconcile after convergence:\n" + audit.str());

  // What accounting and analytics say now: the fees and rewards of every
  // task, once each.
  lab::HttpDriver http(lab.base());
  std::int64_t balances = 0;
  std::string after;
  for (;;) {
    const auto page =
        http.get_expect("/api/v1/accounting/accounts?limit=1000" + (after.empty() ? "" : "&after=" + after),
                        lab.token("boss"));
    for (const auto& a : page["accounts"]) balances += a["balance_cents"].get<std::int64_t>();
    if (page["next"].is_null()) break;
    after = page["next"];
  }

  const double total_s = drive_s + analytics_s;
  out << std::setprecision(0) << "lifecycles: " << tasks
      << " tasks created (assigned on creation) and completed by " << workers << " workers, " << kClients
      << " keep-alive clients, events charge mode, all four plugins\n"
      << "  driven in " << std::setprecision(2) << drive_s << " s: " << std::setprecision(0)
      << static_cast<double>(tasks) / drive_s << " lifecycles/s, " << 2 * static_cast<double>(tasks) / drive_s
      << " durable requests/s\n"
      << std::setprecision(2) << "  POST /tasks                p50 " << percentile(create_ms, 0.5)
      << " ms  p99 " << percentile(create_ms, 0.99) << " ms\n"
      << "  POST /tasks/{id}/complete  p50 " << percentile(complete_ms, 0.5) << " ms  p99 "
      << percentile(complete_ms, 0.99) << " ms\n"
      << "converged after the last answer:\n"
      << "  accounting has all of tracker.tasks:           " << std::setprecision(3) << accounting_s << " s\n"
      << "  analytics has all of accounting.transactions:  " << analytics_s << " s\n"
      << "  end to end, first request -> converged:        " << total_s << " s = " << std::setprecision(0)
      << static_cast<double>(tasks) / total_s << " lifecycles/s fully applied (" << 100 * drive_s / total_s
      << "% of it the clients' own time)\n"
      << "checked: ates audit passes (every balance is the sum of its entries; tracker, accounting and "
         "analytics "
         "agree), in "
      << std::setprecision(2) << audited_s - analytics_s << " s; all balances sum to " << balances
      << " cents (rewards minus fees of " << tasks << " tasks)\n";
}

}  // namespace ates::bench
