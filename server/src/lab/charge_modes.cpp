// `ates lab charge-modes`: one seeded workload, run in `events` and in `rpc`
// charge mode, accounting stopped for a while in each run. (A little over
// 500 lines: the workload, both runs and the table that compares them are
// one demonstration, read top to bottom.)
//
// Why the workload is shaped as it is. The final balances must be the same
// in both modes, and they depend on which task went to whom at which price:
// on the tracker's seeded draws (task ids and assignees). A creation or a
// shuffle draws; in rpc mode one refused while accounting is down has drawn
// already (its intent was planned), so its retry would draw other values and
// the histories would part. So each round runs in phases with a barrier
// between them: creations (concurrent clients; the k-th committed creation
// gets the k-th draws whichever client sent it), then shuffles (one at a
// time: which tasks are open is then settled), then completions (concurrent;
// a completion draws nothing). Accounting is stopped during the middle
// round's completions: in rpc mode they are refused (503) and retried until
// accounting is back; in events mode they are answered and the balances
// follow later. Both modes end with the same history, hence the same money.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lab.hpp"
#include "lab_host.hpp"

namespace ates::lab {

namespace {

using Clock = std::chrono::steady_clock;
constexpr char kTasks[] = "/api/v1/tracker/tasks";
constexpr auto kRetryPause = std::chrono::milliseconds(50);

struct OpStats {
  std::vector<double> ms;  // answered requests only
  std::uint64_t refused = 0;
  void add(const OpStats& other) {
    ms.insert(ms.end(), other.ms.begin(), other.ms.end());
    refused += other.refused;
  }
};

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::max<std::size_t>(rank, 1) - 1];
}

// How long a request is retried through 503s: far longer than the outage;
// reaching it means accounting did not come back, and the run is broken.
constexpr auto kRetryFor = std::chrono::seconds(60);

// Sends until answered with `expect`; every 503 (accounting down in rpc
// mode, or a plugin reloading) counts as refused and is retried after a
// pause. Any other answer, or 503s for longer than kRetryFor, is a defect
// of the run and throws.
Answer until_answered(const std::function<Answer()>& send, long expect, OpStats& stats,
                      const std::string& what) {
  const auto give_up = Clock::now() + kRetryFor;
  for (;;) {
    Answer answer = send();
    if (answer.status == expect) {
      stats.ms.push_back(answer.ms);
      return answer;
    }
    if (answer.status != 503) {
      throw std::runtime_error(what + " answered " + std::to_string(answer.status) + ": " + answer.body);
    }
    ++stats.refused;
    if (Clock::now() > give_up) throw std::runtime_error(what + " answered 503 for a minute: " + answer.body);
    std::this_thread::sleep_for(kRetryPause);
  }
}

// Opened once accounting is stopped: the completions meant to meet the
// outage wait for it, so they meet it however slowly the stop goes.
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mutex_;  // guards open_
  std::condition_variable opened_;
  bool open_ = false;
};

// Runs `clients` threads that take job numbers 0..count-1 in turn; each
// thread gets its own driver and OpStats, merged into `into`.
void in_parallel(const std::string& base, int clients, std::size_t count, OpStats& into,
                 const std::function<void(HttpDriver&, std::size_t, OpStats&)>& job) {
  std::atomic<std::size_t> next{0};
  std::mutex mutex;  // guards into, error
  std::exception_ptr error;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      HttpDriver http(base);
      OpStats mine;
      try {
        for (std::size_t n = next++; n < count; n = next++) job(http, n, mine);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
        next = count;
      }
      std::lock_guard lock(mutex);
      into.add(mine);
    });
  }
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

// Which open tasks a round completes: decided by the task id alone (about
// 5 in 8), so both modes pick the same ones.
bool chosen_for_completion(const std::string& task_id) {
  const char last = task_id.back();
  return last < '8' || (last >= 'a' && last < 'c');
}

struct Sample {
  Clock::time_point at;
  std::int64_t head = 0;
  std::int64_t applied = -1;  // -1: accounting not running
};

struct ModeResult {
  std::string mode;
  std::map<std::string, OpStats> ops;
  std::uint64_t tasks = 0, completed = 0;
  double wall_s = 0;
  double outage_s = 0;
  double lag_max_s = 0, lag_p50_s = 0;
  std::int64_t behind_max = 0;
  double converge_ms = 0;
  std::map<std::string, std::int64_t> balances;  // by user name
  std::int64_t total = 0;
};

// The users, made once and copied into each mode's data: the tracker draws
// assignees by their place among the eligible users, ordered by id, and
// auth makes ids at random, so both modes must start from the same users.
void make_users(const std::filesystem::path& data, const ChargeModesOptions& o) {
  LabHost setup(data, {.plugins = "auth"});
  setup.add_user("boss", "admin");
  setup.add_user("mgr", "manager");
  for (int w = 0; w < o.workers; ++w) setup.add_user("wk" + std::to_string(w), "worker");
}

ModeResult run_mode(const std::string& mode, const std::filesystem::path& users, const ChargeModesOptions& o,
                    std::ostream& out) {
  ModeResult result;
  result.mode = mode;
  ScratchDir dir("ates-lab-" + mode);
  copy_data(users, dir.path() / "data");
  LabHost lab(dir.path() / "data", {.environment = {{"ATES_TRACKER_CHARGE_LINK", mode},
                                                    {"ATES_TRACKER_RANDOM_SEED", std::to_string(o.seed)},
                                                    // An unreachable accounting answers at once; this only
                                                    // keeps a slow moment of a busy machine from aborting.
                                                    {"ATES_TRACKER_RPC_TIMEOUT_MS", "10000"}}});
  const std::string admin = lab.login("boss");
  const std::string manager = lab.login("mgr");
  std::vector<std::string> workers;
  for (int w = 0; w < o.workers; ++w) {
    workers.push_back("wk" + std::to_string(w));
    lab.login(workers.back());
  }
  lab.sync("auth.users", "tracker");
  lab.sync("auth.users", "accounting");

  // The lag monitor: where accounting stands in tracker.tasks, every 10 ms.
  std::vector<Sample> samples;  // the monitor's until joined
  std::atomic<bool> monitoring{true};
  std::thread monitor([&] {
    HttpDriver http(lab.base());
    while (monitoring) {
      const auto p = lab.position(http, "tracker.tasks", "accounting");
      samples.push_back({Clock::now(), p.head, p.applied});
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  struct StopMonitor {
    std::atomic<bool>& flag;
    std::thread& thread;
    ~StopMonitor() {
      flag = false;
      if (thread.joinable()) thread.join();
    }
  } stop_monitor{monitoring, monitor};

  const auto run_start = Clock::now();
  const int outage_round = (o.rounds + 1) / 2;
  for (int round = 1; round <= o.rounds; ++round) {
    // Creations, concurrent.
    in_parallel(
        lab.base(), o.clients, static_cast<std::size_t>(o.tasks_per_round), result.ops["create"],
        [&](HttpDriver& http, std::size_t n, OpStats& stats) {
          const std::string body =
              nlohmann::json{{"title", "lab task " + std::to_string(round) + "-" + std::to_string(n)}}.dump();
          until_answered([&] { return http.post(kTasks, manager, body); }, 201, stats, "POST /tasks");
        });
    result.tasks += static_cast<std::uint64_t>(o.tasks_per_round);
    // Shuffles, one at a time.
    {
      HttpDriver http(lab.base());
      for (int s = 0; s < o.shuffles_per_round; ++s) {
        until_answered([&] { return http.post(std::string(kTasks) + "/shuffle", manager); }, 200,
                       result.ops["shuffle"], "POST /tasks/shuffle");
      }
    }
    // Completions: every worker's open tasks chosen by id.
    std::vector<std::pair<std::string, std::string>> work;  // (worker, task id)
    {
      HttpDriver http(lab.base());
      for (const auto& w : workers) {
        std::string after;
        for (;;) {
          const auto page = http.get_expect(
              std::string(kTasks) + "/mine?status=open&limit=1000" + (after.empty() ? "" : "&after=" + after),
              lab.token(w));
          for (const auto& t : page["tasks"]) {
            if (chosen_for_completion(t["id"])) work.emplace_back(w, t["id"]);
          }
          if (page["next"].is_null()) break;
          after = page["next"];
        }
      }
    }
    std::thread outage;
    std::exception_ptr outage_error;  // the outage thread's until joined
    std::chrono::milliseconds pace{0};
    // The outage starts once the first quarter of the completions is done;
    // the rest wait for it, so in rpc mode some are refused for certain.
    const bool with_outage = round == outage_round && !work.empty();
    const std::size_t quarter = work.size() / 4;
    Gate stopped;
    std::atomic<std::size_t> done{0};
    std::mutex done_mutex;  // guards failed; with done_cv: the outage thread waits for `quarter` done
    std::condition_variable done_cv;
    bool failed = false;  // a completion threw: the phase ends
    if (with_outage) {
      // Paced so the phase spans the outage in both modes: about twice its
      // length in all.
      pace = std::chrono::milliseconds(2 * o.outage_ms * o.clients / static_cast<int>(work.size()));
      outage = std::thread([&] {
        try {
          {
            std::unique_lock lock(done_mutex);
            done_cv.wait(lock, [&] { return done >= quarter || failed; });
            if (failed) return;
          }
          const auto start = Clock::now();
          if (auto s = lab.host().stop_plugin("accounting"); !s) throw std::runtime_error(s.to_string());
          stopped.open();
          // The outage itself: a chosen length of time, not a wait for anything.
          std::this_thread::sleep_for(std::chrono::milliseconds(o.outage_ms));
          if (auto s = lab.host().start_plugin("accounting"); !s) throw std::runtime_error(s.to_string());
          result.outage_s = std::chrono::duration<double>(Clock::now() - start).count();
        } catch (...) {
          outage_error = std::current_exception();
          stopped.open();  // the waiting completions go on; the run fails below
        }
      });
    }
    const auto end_phase = [&] {
      if (outage.joinable()) outage.join();  // the next phase starts with accounting back
    };
    try {
      in_parallel(
          lab.base(), o.clients, work.size(), result.ops["complete"],
          [&](HttpDriver& http, std::size_t n, OpStats& stats) {
            // Job numbers are taken in order, so every job below
            // `quarter` is running or done before one waits here.
            if (with_outage && n >= quarter) stopped.wait();
            const auto& who = work[n].first;  // not a structured binding: the lambda captures them
            const auto& id = work[n].second;
            try {
              until_answered(
                  [&] { return http.post(std::string(kTasks) + "/" + id + "/complete", lab.token(who)); },
                  200, stats, "POST /tasks/{id}/complete");
            } catch (...) {
              // Nobody may wait for this one: release the waiting
              // completions and the outage thread.
              {
                std::lock_guard lock(done_mutex);
                failed = true;
              }
              done_cv.notify_all();
              stopped.open();
              throw;
            }
            {
              std::lock_guard lock(done_mutex);
              ++done;
            }
            done_cv.notify_all();
            if (pace.count() > 0) std::this_thread::sleep_for(pace);  // load shape, not a wait
          });
    } catch (...) {
      end_phase();
      throw;
    }
    end_phase();
    if (outage_error) std::rethrow_exception(outage_error);
    result.completed += work.size();
    out << "  " << mode << ": round " << round << " done (" << result.tasks << " tasks created, "
        << result.completed << " completed)"
        << (round == outage_round ? ", accounting was stopped in it" : "") << std::endl;
  }
  const auto last_request = Clock::now();
  result.wall_s = std::chrono::duration<double>(last_request - run_start).count();
  lab.sync("tracker.tasks", "accounting");
  lab.sync("accounting.transactions", "analytics");
  result.converge_ms = std::chrono::duration<double, std::milli>(Clock::now() - last_request).count();
  monitoring = false;
  monitor.join();
  {
    HttpDriver http(lab.base());
    const auto p = lab.position(http, "tracker.tasks", "accounting");
    samples.push_back({Clock::now(), p.head, p.applied});
  }

  // How long the tracker's changes took to reach accounting: for each
  // sample, the time until accounting had applied the head seen then.
  // While accounting is stopped its balances stay where they were: the
  // last position it reported.
  for (std::size_t i = 1; i < samples.size(); ++i) {
    if (samples[i].applied < 0) samples[i].applied = samples[i - 1].applied;
  }
  if (std::getenv("ATES_LAB_TRACE") != nullptr) {
    for (const auto& sample : samples) {
      out << "    trace " << mode << " t=" << std::chrono::duration<double>(sample.at - run_start).count()
          << " head=" << sample.head << " applied=" << sample.applied << "\n";
    }
  }
  std::vector<double> lags;
  std::size_t j = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    j = std::max(j, i);
    while (j < samples.size() && samples[j].applied < samples[i].head) ++j;
    const auto reached = j < samples.size() ? samples[j].at : samples.back().at;
    lags.push_back(std::chrono::duration<double>(reached - samples[i].at).count());
    if (samples[i].applied >= 0)
      result.behind_max = std::max(result.behind_max, samples[i].head - samples[i].applied);
  }
  result.lag_max_s = lags.empty() ? 0 : *std::max_element(lags.begin(), lags.end());
  result.lag_p50_s = percentile(lags, 0.5);

  HttpDriver http(lab.base());
  std::string after;
  for (;;) {
    const auto page = http.get_expect(
        "/api/v1/accounting/accounts?limit=1000" + (after.empty() ? "" : "&after=" + after), admin);
    for (const auto& a : page["accounts"]) {
      const std::int64_t balance = a["balance_cents"];
      result.balances[lab.name_of(a["user_id"])] = balance;
      result.total += balance;
    }
    if (page["next"].is_null()) break;
    after = page["next"];
  }

  // After the balances are taken: what creations meet while accounting is
  // down. Kept out of the compared workload because a refused creation has
  // drawn from the seeded generator already.
  if (auto s = lab.host().stop_plugin("accounting"); !s) throw std::runtime_error(s.to_string());
  const auto probe_end = Clock::now() + std::chrono::milliseconds(o.probe_ms);
  OpStats& probe = result.ops["probe"];
  std::mutex probe_mutex;  // guards probe
  std::vector<std::thread> probers;
  for (int c = 0; c < o.clients; ++c) {
    probers.emplace_back([&] {
      HttpDriver client(lab.base());
      OpStats mine;
      const std::string body = nlohmann::json{{"title", "while accounting is down"}}.dump();
      while (Clock::now() < probe_end) {
        const Answer answer = client.post(kTasks, manager, body);
        if (answer.status == 201) {
          mine.ms.push_back(answer.ms);
        } else {
          ++mine.refused;  // a 503 (or none): no retry here
          std::this_thread::sleep_for(kRetryPause);
        }
      }
      std::lock_guard lock(probe_mutex);
      probe.add(mine);
    });
  }
  for (auto& t : probers) t.join();
  if (auto s = lab.host().start_plugin("accounting"); !s) throw std::runtime_error(s.to_string());
  return result;
}

std::string fixed(double value, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << value;
  return s.str();
}

std::string dollars(std::int64_t cents) {
  std::ostringstream s;
  s << (cents < 0 ? "-" : "") << std::llabs(cents) / 100 << "." << std::setw(2) << std::setfill('0')
    << std::llabs(cents) % 100;
  return s.str();
}

}  // namespace

int run_charge_modes(const ChargeModesOptions& o, std::ostream& out) {
  init_http();
  out << "charge-modes: " << o.workers << " workers, " << o.clients << " concurrent clients, " << o.rounds
      << " rounds of " << o.tasks_per_round << " creations, " << o.shuffles_per_round
      << " shuffles and completions of about 5 in 8 open tasks; accounting stopped for " << o.outage_ms
      << " ms during round " << (o.rounds + 1) / 2 << "'s completions; seed " << o.seed << "\n";
  ScratchDir users("ates-lab-users");
  make_users(users.path() / "data", o);
  std::vector<ModeResult> results;
  for (const std::string mode : {"events", "rpc"})
    results.push_back(run_mode(mode, users.path() / "data", o, out));
  const ModeResult& ev = results[0];
  const ModeResult& rpc = results[1];

  constexpr int kLabel = 46, kColumn = 20;
  std::ostringstream table;
  const auto row = [&](const std::string& label, const std::string& a, const std::string& b) {
    table << std::left << std::setw(kLabel) << label << std::right << std::setw(kColumn) << a
          << std::setw(kColumn) << b << "\n";
  };
  row("", "events", "rpc");
  for (const std::string op : {"create", "complete", "shuffle"}) {
    const auto& e = ev.ops.at(op);
    const auto& r = rpc.ops.at(op);
    row(op + ": answered / refused (503)", std::to_string(e.ms.size()) + " / " + std::to_string(e.refused),
        std::to_string(r.ms.size()) + " / " + std::to_string(r.refused));
    row(op + ": latency p50 / p99, ms",
        fixed(percentile(e.ms, 0.5), 2) + " / " + fixed(percentile(e.ms, 0.99), 2),
        fixed(percentile(r.ms, 0.5), 2) + " / " + fixed(percentile(r.ms, 0.99), 2));
  }
  row("accounting stopped for, s", fixed(ev.outage_s, 2), fixed(rpc.outage_s, 2));
  {
    const auto& e = ev.ops.at("probe");
    const auto& r = rpc.ops.at("probe");
    row("create, accounting down " + fixed(o.probe_ms / 1000.0, 1) + " s more: ok / 503 **",
        std::to_string(e.ms.size()) + " / " + std::to_string(e.refused),
        std::to_string(r.ms.size()) + " / " + std::to_string(r.refused));
  }
  row("accounting behind tracker.tasks: p50 / max, s *",
      fixed(ev.lag_p50_s, 3) + " / " + fixed(ev.lag_max_s, 3),
      fixed(rpc.lag_p50_s, 3) + " / " + fixed(rpc.lag_max_s, 3));
  row("tracker.tasks events not yet applied, max", std::to_string(ev.behind_max),
      std::to_string(rpc.behind_max));
  row("workload wall time, s", fixed(ev.wall_s, 2), fixed(rpc.wall_s, 2));
  row("converged after the last answer, ms", fixed(ev.converge_ms, 1), fixed(rpc.converge_ms, 1));
  row("tasks created / completed", std::to_string(ev.tasks) + " / " + std::to_string(ev.completed),
      std::to_string(rpc.tasks) + " / " + std::to_string(rpc.completed));
  row("accounts / sum of balances, $", std::to_string(ev.balances.size()) + " / " + dollars(ev.total),
      std::to_string(rpc.balances.size()) + " / " + dollars(rpc.total));
  out << "\n"
      << table.str()
      << "* per 10 ms sample, how long until accounting had applied the tracker.tasks head seen then. In "
         "events\n"
         "  mode that is how far balances lag. In rpc mode a charge is booked when the tracker's COMMIT "
         "arrives,\n"
         "  just after its answer, so this only bounds the balances' lag from above; its max there is the "
         "last\n"
         "  event before the stop, applied by the stream after the restart.\n"
         "** after the balances were taken, accounting is stopped again and the clients send creations back "
         "to\n"
         "   back, a refused one followed by a 50 ms pause; these tasks are not part of the compared "
         "workload.\n";

  // What the run set out to show, besides equal balances: checked here, so
  // that a run which showed nothing cannot pass.
  std::vector<std::string> unshown;
  const auto check = [&](bool holds, const std::string& what) {
    if (!holds) unshown.push_back(what);
  };
  for (const ModeResult* r : {&ev, &rpc}) {
    check(r->outage_s > 0, "accounting was not stopped during the " + r->mode + " run");
    check(
        r->balances.size() == static_cast<std::size_t>(o.workers) + 2,
        "the " + r->mode + " run has " + std::to_string(r->balances.size()) + " accounts, not one per user");
  }
  check(ev.total != 0, "no money moved");
  check(ev.ops.at("complete").refused == 0, "events mode refused completions: it must not need accounting");
  check(rpc.ops.at("complete").refused > 0, "rpc mode refused no completion while accounting was stopped");
  check(!ev.ops.at("probe").ms.empty() && ev.ops.at("probe").refused == 0,
        "events mode did not answer every creation while accounting was down");
  check(rpc.ops.at("probe").ms.empty() && rpc.ops.at("probe").refused > 0,
        "rpc mode did not refuse creations while accounting was down");
  for (const auto& what : unshown) out << "\nFAIL: " << what << "\n";

  std::vector<std::string> differing;
  for (const auto& [name, balance] : ev.balances) {
    const auto it = rpc.balances.find(name);
    if (it == rpc.balances.end() || it->second != balance) differing.push_back(name);
  }
  for (const auto& [name, balance] : rpc.balances) {
    if (!ev.balances.contains(name)) differing.push_back(name);
  }
  // Printed whatever the outcome, as numbers a reader (or a test) can check.
  out << "\nfinal balances: " << differing.size() << " of " << ev.balances.size()
      << " accounts differ between the modes\n";
  if (!differing.empty()) {
    out << "\nFAIL: final balances differ between the modes for " << differing.size() << " accounts:\n";
    for (const auto& name : differing) {
      const auto e = ev.balances.find(name), r = rpc.balances.find(name);
      out << "  " << name << ": events " << (e == ev.balances.end() ? "none" : dollars(e->second)) << ", rpc "
          << (r == rpc.balances.end() ? "none" : dollars(r->second)) << "\n";
    }
    return 1;
  }
  if (!unshown.empty()) return 1;
  out << "final balances: identical in both modes, every account to the cent\n";
  return 0;
}

}  // namespace ates::lab
