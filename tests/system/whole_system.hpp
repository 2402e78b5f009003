// What the whole-system tests share (issue 10): `ates serve` as a process
// on a data directory of its own, users added with `ates user add`, a load
// of concurrent clients over real HTTP that records what was acknowledged,
// the wait for every consumer to reach its stream's head, and the checks a
// user would make afterwards through the API.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "ates/protocol/events.hpp"
#include "ates/testing/http_client.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/stream.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/wait.hpp"

namespace ates::whole_system {

using testing::HttpClient;
using testing::HttpResponse;
using testing::Process;
using Headers = std::map<std::string, std::string>;

inline const std::string kAtes = ATES_BINARY;
inline const std::vector<std::string> kWorkers = {"wk1", "wk2", "wk3", "wk4"};

// Settings for tests: quick heartbeats, argon2id's minimum cost, a fixed
// price key (so two runs price a task alike), no scheduled close.
inline std::map<std::string, std::string> test_environment() {
  return {{"ATES_BUS_HEARTBEAT_MS", "50"},
          {"ATES_AUTH_PASSWORD_HASH", "min"},
          {"ATES_AUTH_FIRST_ADMIN", "false"},
          {"ATES_ACCOUNTING_AUTO_CLOSE", "false"},
          {"ATES_ACCOUNTING_PRICE_KEY", std::string(64, 'a')}};
}

// boss (admin) and the workers, added to `data` by auth's command.
inline void add_users(const std::string& data, const std::map<std::string, std::string>& env) {
  std::vector<std::pair<std::string, std::string>> users = {{"boss", "admin"}};
  for (const auto& w : kWorkers) users.emplace_back(w, "worker");
  for (const auto& [name, role] : users) {
    const auto added = testing::run_to_end(
        {kAtes, "user", "add", "--data", data, "--username", name, "--role", role}, env, "password-" + name + "\n");
    BOOST_TEST_REQUIRE(added.exit_code == 0, added.err);
  }
}

// One `ates serve` process; the constructor returns once it listens.
class Serve {
 public:
  Serve(const std::string& data, const std::string& plugins, const std::map<std::string, std::string>& env,
        const std::vector<std::string>& extra_args = {}) {
    std::vector<std::string> argv = {kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0", "--plugins", plugins};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<Process>(argv, env);
    const std::string prefix = "ates serve: listening on ";
    for (;;) {
      const auto line = process_->read_line();
      BOOST_TEST_REQUIRE(line.has_value(), "no listening line; stderr:\n" << process_->stderr_text());
      if (line->starts_with(prefix)) {
        base_ = line->substr(prefix.size());
        break;
      }
    }
  }
  const std::string& base() const { return base_; }
  HttpClient client() const { return HttpClient(base_); }
  Process& process() { return *process_; }
  // SIGKILL, as a crash; waits until the process is gone.
  void kill() {
    process_->signal(SIGKILL);
    BOOST_TEST_REQUIRE(process_->wait().has_value());
  }
  // SIGTERM, and the exit status must be 0.
  void stop() {
    process_->signal(SIGTERM);
    const auto status = process_->wait();
    BOOST_TEST_REQUIRE(status.has_value());
    BOOST_TEST((WIFEXITED(*status) && WEXITSTATUS(*status) == 0), process_->stderr_text());
  }

 private:
  std::unique_ptr<Process> process_;
  std::string base_;
};

// Logs every user in; tokens stay valid across restarts (the signing keys
// are in the data).
struct Logins {
  std::map<std::string, Headers> as;           // name -> Authorization
  std::map<std::string, std::string> name_of;  // user id -> name
  std::map<std::string, std::string> id_of;    // name -> user id

  explicit Logins(const HttpClient& client) {
    std::vector<std::string> names = {"boss"};
    names.insert(names.end(), kWorkers.begin(), kWorkers.end());
    for (const auto& name : names) {
      const auto r = client.post("/api/v1/auth/login",
                                 nlohmann::json{{"username", name}, {"password", "password-" + name}}.dump());
      BOOST_TEST_REQUIRE(r.status == 200, r.body);
      as[name] = {{"Authorization", "Bearer " + r.json()["token"].get<std::string>()}};
      const std::string id = r.json()["user"]["id"];
      name_of[id] = name;
      id_of[name] = id;
    }
  }
};

// Every item of a paginated list (`?after=` cursors, API.md).
inline nlohmann::json get_all(const HttpClient& client, const std::string& path, const std::string& key,
                              const Headers& as) {
  nlohmann::json items = nlohmann::json::array();
  std::string after;
  const char sep = path.find('?') == std::string::npos ? '?' : '&';
  for (;;) {
    const auto r = client.get(path + sep + "limit=1000" + (after.empty() ? "" : "&after=" + after), as);
    BOOST_TEST_REQUIRE(r.status == 200, path << ": " << r.status << " " << r.body);
    const auto body = r.json();
    for (const auto& item : body[key]) items.push_back(item);
    if (!body.contains("next") || body["next"].is_null()) return items;
    after = body["next"].get<std::string>();
  }
}

// Streams and consumers as one process reports them
// (GET /api/v1/events/streams); nothing when it does not answer.
struct BusView {
  std::map<std::string, std::uint64_t> local_heads;  // streams this process produces
  struct Consumer {
    std::string plugin, stream, state;
    std::uint64_t applied = 0;
  };
  std::vector<Consumer> consumers;
};

inline std::optional<BusView> bus_view(const HttpClient& client, const Headers& admin) {
  const auto r = client.get("/api/v1/events/streams", admin);
  if (r.status != 200) return std::nullopt;
  const auto body = r.json();
  if (!body.is_object()) return std::nullopt;
  BusView view;
  for (const auto& s : body["streams"]) {
    if (s.contains("epoch")) view.local_heads[s["name"]] = s["head_seq"].get<std::uint64_t>();
    for (const auto& c : s["consumers"]) {
      view.consumers.push_back({c["plugin"], s["name"], c["state"], c["applied_seq"].get<std::uint64_t>()});
    }
  }
  return view;
}

// True when every consumer of every process runs and has applied the head
// its producer (in whichever process) reports.
inline bool converged(const std::vector<const HttpClient*>& processes, const Headers& admin, std::string* why) {
  std::vector<BusView> views;
  std::map<std::string, std::uint64_t> heads;
  for (const auto* client : processes) {
    auto view = bus_view(*client, admin);
    if (!view) {
      *why = client->base() + " does not answer";
      return false;
    }
    heads.insert(view->local_heads.begin(), view->local_heads.end());
    views.push_back(std::move(*view));
  }
  for (const auto& view : views) {
    for (const auto& c : view.consumers) {
      const std::uint64_t head = heads.contains(c.stream) ? heads[c.stream] : 0;
      if (c.state != "running" || c.applied != head) {
        *why = c.plugin + " on " + c.stream + ": " + c.state + ", applied " + std::to_string(c.applied) + " of " +
               std::to_string(head);
        return false;
      }
    }
  }
  return true;
}

inline void require_converged(const std::vector<const HttpClient*>& processes, const Headers& admin) {
  std::string why;
  BOOST_TEST_REQUIRE(
      testing::wait_until([&] { return converged(processes, admin, &why); }, std::chrono::seconds(60)),
      "consumers did not reach their heads: " << why);
}

// Concurrent clients over HTTP: creates (as boss), completions (as the
// assignee) and, from the first client, shuffles. What got a 2xx is
// recorded; a request without an answer (the server died) or with 503 is
// not, and the client goes on against whatever server runs next.
// target() and acknowledged() may be called from any thread while the
// clients run; the records are read after stop().
class Load {
 public:
  Load(const Logins& logins, unsigned seed) : logins_(logins), seed_(seed) {}
  ~Load() { stop(); }

  void target(const std::string& base) {
    std::lock_guard lock(mutex_);
    client_ = std::make_shared<HttpClient>(base);
  }
  void start(int clients) {
    for (int c = 0; c < clients; ++c) threads_.emplace_back([this, c] { run(c); });
  }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  std::uint64_t acknowledged() const { return acknowledged_; }

  // Guarded by mutex_ while the clients run.
  std::set<std::string> created;    // task ids whose create got 201
  std::set<std::string> completed;  // task ids whose completion got 200
  std::uint64_t shuffles = 0;
  std::uint64_t unanswered = 0;
  std::vector<std::string> unexpected;  // answers no client of a sound server gets

 private:
  std::shared_ptr<HttpClient> client() {
    std::lock_guard lock(mutex_);
    return client_;
  }
  // The server is down or reloading: a short pause before the next
  // request, so the clients do not spin on a refused connection. It paces
  // the load; nothing waits on it.
  void pause() { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }
  void note(const std::string& what, const HttpResponse& r) {
    std::lock_guard lock(mutex_);
    unexpected.push_back(what + ": " + std::to_string(r.status) + " " + r.body);
  }
  bool unavailable(const HttpResponse& r) {
    if (r.status != 0 && r.status != 503) return false;
    std::lock_guard lock(mutex_);
    ++unanswered;
    return true;
  }

  void run(int c) {
    std::mt19937 rng(seed_ * 100 + static_cast<unsigned>(c));
    std::vector<std::pair<std::string, std::string>> open;  // (task id, assignee id) this client created
    const Headers& boss = logins_.as.at("boss");
    for (int i = 0; !stop_; ++i) {
      const auto http = client();
      const unsigned dice = rng() % 20;
      if (c == 0 && dice == 0) {
        const auto r = http->post("/api/v1/tracker/tasks/shuffle", "", boss);
        if (unavailable(r)) {
          pause();
        } else if (r.status == 200) {
          std::lock_guard lock(mutex_);
          ++shuffles;
          ++acknowledged_;
        } else {
          note("shuffle", r);
        }
      } else if (dice < 8 && !open.empty()) {
        const std::size_t pick = rng() % open.size();
        auto& [task, assignee] = open[pick];
        const auto r = http->post("/api/v1/tracker/tasks/" + task + "/complete", "",
                                  logins_.as.at(logins_.name_of.at(assignee)));
        if (unavailable(r)) {
          pause();
        } else if (r.status == 200) {
          std::lock_guard lock(mutex_);
          completed.insert(task);
          ++acknowledged_;
          open.erase(open.begin() + static_cast<std::ptrdiff_t>(pick));
        } else if (r.status == 403) {  // shuffled away: ask who has it now
          const auto t = http->get("/api/v1/tracker/tasks/" + task, boss);
          if (t.status == 200) {
            assignee = t.json()["task"]["assignee_id"];
          } else if (!unavailable(t)) {
            note("get " + task, t);
          }
        } else if (r.status == 409) {
          // Done already: a completion whose answer the crash cut off.
          open.erase(open.begin() + static_cast<std::ptrdiff_t>(pick));
        } else {
          note("complete " + task, r);
        }
      } else {
        const auto r = http->post("/api/v1/tracker/tasks",
                                  nlohmann::json{{"title", "load " + std::to_string(c) + "-" + std::to_string(i)}}.dump(),
                                  boss);
        if (unavailable(r)) {
          pause();
        } else if (r.status == 201) {
          const auto task = r.json()["task"];
          open.emplace_back(task["id"], task["assignee_id"]);
          std::lock_guard lock(mutex_);
          created.insert(task["id"].get<std::string>());
          ++acknowledged_;
        } else {
          note("create", r);
        }
      }
    }
  }

  const Logins& logins_;
  const unsigned seed_;
  std::mutex mutex_;
  std::shared_ptr<HttpClient> client_;  // guarded by mutex_
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> acknowledged_{0};
};

// Counts per task id.
using PerTask = std::map<std::string, int>;

// What the tracker published: assignments and completions per task.
struct TrackerLog {
  PerTask assigned, completed, created;
  std::vector<std::uint64_t> seqs;
};
inline TrackerLog tracker_log(const std::filesystem::path& tracker_env) {
  TrackerLog log;
  for (const auto& e : testing::read_stream(tracker_env, "tracker", "tracker.tasks")) {
    log.seqs.push_back(e.seq);
    if (e.name == protocol::TaskAssigned::kName) log.assigned[protocol::decode_payload<protocol::TaskAssigned>(e)->task_id]++;
    if (e.name == protocol::TaskCompleted::kName)
      log.completed[protocol::decode_payload<protocol::TaskCompleted>(e)->task_id]++;
    if (e.name == protocol::TaskCreated::kName) log.created[protocol::decode_payload<protocol::TaskCreated>(e)->task_id]++;
  }
  return log;
}

// Accounting as its API shows it: every account's balance and entries.
struct Books {
  std::map<std::string, std::int64_t> balances;  // user id -> cents
  std::map<std::string, std::int64_t> sums;      // user id -> sum of its entries
  PerTask fees, rewards;
  std::map<std::string, int> payouts;  // user id -> payout entries
};
inline Books books(const HttpClient& client, const Headers& admin) {
  Books b;
  for (const auto& account : get_all(client, "/api/v1/accounting/accounts", "accounts", admin)) {
    const std::string id = account["user_id"];
    b.balances[id] = account["balance_cents"];
    b.sums[id] = 0;
    for (const auto& e : get_all(client, "/api/v1/accounting/accounts/" + id + "/entries", "entries", admin)) {
      b.sums[id] += e["amount_cents"].get<std::int64_t>();
      const std::string task = e["task"].is_object() ? e["task"]["id"].get<std::string>() : "";
      if (e["kind"] == "fee") b.fees[task]++;
      if (e["kind"] == "reward") b.rewards[task]++;
      if (e["kind"] == "payout") b.payouts[id]++;
    }
  }
  return b;
}

// `ates audit` over a data directory: exit 0 and no consumer lagging.
inline void require_clean_audit(const std::string& data) {
  const auto audit = testing::run_to_end({kAtes, "audit", "--data", data});
  BOOST_TEST(audit.exit_code == 0, audit.out << audit.err);
  BOOST_TEST(audit.out.find("the money reconciles") != std::string::npos, audit.out);
  BOOST_TEST(audit.out.find("lag ") == std::string::npos, audit.out);
  BOOST_TEST_MESSAGE("audit of " << data << ":\n" << audit.out);
}

}  // namespace ates::whole_system
