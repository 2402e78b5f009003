#include "ates/bench/tracker_bench.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <iomanip>
#include <mutex>
#include <sstream>
#include <thread>

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include "ates/testing/temp_dir.hpp"

#include "host.hpp"
#include "http_server.hpp"

namespace ates::bench {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kServerThreads = 2;
constexpr int kClients = 8;
constexpr int kWorkers = 10;  // who tasks go to; /mine is asked by one of them
constexpr char kTasks[] = "/api/v1/tracker/tasks";

// One client's keep-alive connection (a libcurl easy handle); one thread
// uses it at a time.
class Connection {
 public:
  explicit Connection(const std::string& token) : curl_(curl_easy_init()) {
    if (!token.empty()) headers_ = curl_slist_append(headers_, ("Authorization: Bearer " + token).c_str());
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Connection::append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body_);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  }
  ~Connection() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(curl_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // GET when `post_body` is null, else POST; the answer's status (0: none),
  // its body in body().
  long perform(const std::string& url, const std::string* post_body = nullptr) {
    body_.clear();
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    if (post_body) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body->size()));
      curl_easy_setopt(curl_, CURLOPT_COPYPOSTFIELDS, post_body->c_str());
    } else {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    }
    long status = 0;
    if (curl_easy_perform(curl_) == CURLE_OK) curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }
  const std::string& body() const { return body_; }

 private:
  static std::size_t append(char* data, std::size_t size, std::size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
  }

  CURL* curl_;
  curl_slist* headers_ = nullptr;
  std::string body_;
};

// One kind of request; `body` makes the n-th request's POST body (GET when
// it is null).
struct Call {
  std::string url;
  std::string token;
  long expect = 200;
  std::function<std::string(std::uint64_t)> body;
};

std::string task_body(std::uint64_t n) {
  return nlohmann::json{{"title", "bench task " + std::to_string(n)}}.dump();
}

// Sends one call on `connection`; a wrong status throws with the answer.
void send(Connection& connection, const Call& call, std::uint64_t n) {
  long status = 0;
  if (call.body) {
    const std::string body = call.body(n);
    status = connection.perform(call.url, &body);
  } else {
    status = connection.perform(call.url);
  }
  if (status != call.expect) {
    throw std::runtime_error(call.url + " answered " + std::to_string(status) + " instead of " +
                             std::to_string(call.expect) + ": " + connection.body());
  }
}

// `clients` threads, each on its own connection, send `call` back to back
// until `done(n)` is true for the request number n they would send next.
// Returns the requests answered per second; rethrows a client's error.
double drive(const Call& call, int clients, const std::function<bool(std::uint64_t)>& done) {
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::exception_ptr error;  // guarded by error_mutex
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(clients));
  const auto start = SteadyClock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      Connection connection(call.token);
      try {
        for (std::uint64_t n = next++; !done(n) && !failed.load(std::memory_order_relaxed); n = next++) {
          send(connection, call, n);
        }
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    });
  }
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  // The last number each client drew was not sent.
  const auto sent = next.load() - static_cast<std::uint64_t>(clients);
  return static_cast<double>(sent) / std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// Requests/s over a window.
double rate_for(const Call& call, int clients, std::chrono::milliseconds window) {
  const auto end = SteadyClock::now() + window;
  return drive(call, clients, [end](std::uint64_t) { return SteadyClock::now() >= end; });
}

// Requests/s while sending exactly `count` requests.
double rate_of(const Call& call, int clients, std::uint64_t count) {
  return drive(call, clients, [count](std::uint64_t n) { return n >= count; });
}

// When one request was sent and answered.
struct Sample {
  SteadyClock::time_point start;
  SteadyClock::time_point end;
};

// One client on its own thread sending `call` back to back and timing every
// answer, from construction to stop().
class Probe {
 public:
  explicit Probe(Call call) : call_(std::move(call)) {
    thread_ = std::thread([this] {
      Connection connection(call_.token);
      try {
        for (std::uint64_t n = 0; !stop_.load(std::memory_order_relaxed); ++n) {
          const auto start = SteadyClock::now();
          send(connection, call_, n);
          samples_.push_back({start, SteadyClock::now()});
        }
      } catch (...) {
        error_ = std::current_exception();
      }
    });
  }
  ~Probe() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
    }
  }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Every request it sent; rethrows the probe's error.
  std::vector<Sample> stop() {
    stop_ = true;
    thread_.join();
    if (error_) std::rethrow_exception(error_);
    return std::move(samples_);
  }

 private:
  Call call_;
  std::atomic<bool> stop_{false};
  std::vector<Sample> samples_;  // the probe's thread's until it is joined
  std::exception_ptr error_;     // likewise
  std::thread thread_;
};

struct Latencies {
  std::size_t count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// The latencies of the requests that were in flight at some time of [from, to].
Latencies latencies(const std::vector<Sample>& samples, SteadyClock::time_point from,
                    SteadyClock::time_point to) {
  std::vector<double> ms;
  for (const auto& s : samples) {
    if (s.start <= to && s.end >= from)
      ms.push_back(std::chrono::duration<double, std::milli>(s.end - s.start).count());
  }
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  const auto rank = [&](double q) {
    return ms[static_cast<std::size_t>(std::ceil(q * static_cast<double>(ms.size()))) - 1];
  };
  return {ms.size(), rank(0.5), rank(0.99), ms.back()};
}

nlohmann::json post_json(const std::string& url, const std::string& token, const std::string& body,
                         long expect) {
  Connection connection(token);
  const long status = connection.perform(url, &body);
  if (status != expect)
    throw std::runtime_error(url + " answered " + std::to_string(status) + ": " + connection.body());
  return nlohmann::json::parse(connection.body());
}

// Waits until the tracker has applied every auth.users event so far (and
// the admin's token is accepted, which needs auth's key to have arrived).
void sync_users(const std::string& base, const std::string& admin_token) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
  std::string last;  // the last answer, for the error
  while (SteadyClock::now() < deadline) {
    Connection connection(admin_token);
    const long status = connection.perform(base + "/api/v1/events/streams");
    last = std::to_string(status) + " " + connection.body();
    if (status == 200) {
      const auto body = nlohmann::json::parse(connection.body());
      for (const auto& stream : body["streams"]) {
        if (stream["name"] != "auth.users") continue;
        for (const auto& consumer : stream["consumers"]) {
          if (consumer["plugin"] == "tracker" && consumer["applied_seq"] == stream["head_seq"]) return;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("the tracker did not apply auth.users within 30 s; /api/v1/events/streams: " +
                           last);
}

// The tracker's write transactions so far, from /metrics: how many, and the
// seconds from their begin to their durable commit.
struct Commits {
  double count = 0;
  double seconds = 0;
};

Commits tracker_commits(const std::string& base) {
  Connection connection("");
  if (connection.perform(base + "/metrics") != 200)
    throw std::runtime_error("/metrics: " + connection.body());
  Commits commits;
  std::istringstream lines(connection.body());
  for (std::string line; std::getline(lines, line);) {
    if (line.find("plugin=\"tracker\"") == std::string::npos) continue;
    const double value = std::stod(line.substr(line.rfind(' ') + 1));
    if (line.starts_with("ates_storage_commit_duration_seconds_sum")) commits.seconds = value;
    if (line.starts_with("ates_storage_commit_duration_seconds_count")) commits.count = value;
  }
  return commits;
}

// Shuffles every open task; returns the number reassigned.
std::uint64_t shuffle(const std::string& base, const std::string& token) {
  return post_json(base + kTasks + "/shuffle", token, "", 200)["reassigned"];
}

}  // namespace

void run_tracker_bench(const TrackerBenchOptions& options, std::ostream& out) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  testing::TempDir temp("ates-bench-tracker");
  const std::filesystem::path root = options.dir.empty() ? temp.path() : std::filesystem::path(options.dir);
  if (std::filesystem::exists(root / "data") && !std::filesystem::is_empty(root / "data")) {
    throw std::runtime_error((root / "data").string() + " holds data already; give --dir an empty directory");
  }
  const std::chrono::milliseconds window(options.full ? 8000 : 3000);
  const std::chrono::milliseconds probe_window(options.full ? 5000 : 2000);
  const std::uint64_t open_tasks = options.full ? 100000 : 10000;

  // The bare route: the same RESTinio server code, answering at once.
  double bare = 0;
  {
    server::HttpServer http({.port = 0, .threads = kServerThreads},
                            [](const plugin_api::Request&, const plugin_api::Responder& respond) {
                              respond(plugin_api::Response::json(200, {{"ok", true}}));
                            });
    const auto port = http.start();
    if (!port) throw std::runtime_error(port.status().to_string());
    bare = rate_for({.url = "http://127.0.0.1:" + std::to_string(*port) + "/bare"}, kClients, window);
  }

  server::ConfigSources sources;
  // A shuffle is answered when it has finished: let it take longer than the
  // default handler timeout rather than lose the figure.
  sources.flags = {{"data", (root / "data").string()},   {"plugins", "auth,tracker"},
                   {"http.listen", "127.0.0.1:0"},       {"http.threads", std::to_string(kServerThreads)},
                   {"http.handle_timeout_ms", "600000"}, {"log.level", "error"}};
  // argon2id's minimum limits: log-ins are set-up here, not measured.
  sources.environment = {{"ATES_AUTH_FIRST_ADMIN", "false"},
                         {"ATES_AUTH_PASSWORD_HASH", "min"},
                         {"ATES_BUS_HEARTBEAT_MS", "50"}};
  auto host = server::Host::start(sources, std::filesystem::read_symlink("/proc/self/exe"));
  if (!host) throw std::runtime_error(host.status().to_string());
  const std::string base = "http://127.0.0.1:" + std::to_string((*host)->port());
  const auto add_user = [&](const std::string& name, const std::string& role) {
    const auto added = (*host)->run_command(
        "auth", "user-add", {{"username", name}, {"role", role}, {"password", "password-" + name}});
    if (!added) throw std::runtime_error(added.status().to_string());
    const std::string login = nlohmann::json{{"username", name}, {"password", "password-" + name}}.dump();
    return post_json(base + "/api/v1/auth/login", "", login, 200)["token"].get<std::string>();
  };
  const std::string admin = add_user("boss", "admin");
  std::string worker;
  for (int w = 0; w < kWorkers; ++w) {
    const std::string token = add_user("worker-" + std::to_string(w), "worker");
    if (w == 0) worker = token;
  }
  sync_users(base, admin);

  // Creations, durable (each answered after its fsync): every open task the
  // shuffles will move. The first one's id is the reading probe's.
  const Call create{.url = base + kTasks, .token = admin, .expect = 201, .body = task_body};
  const std::string probe_id = post_json(base + kTasks, admin, task_body(0), 201)["task"]["id"];
  const auto fill_start = SteadyClock::now();
  const double creations = rate_of(create, kClients, open_tasks - 1);
  const double fill_s = std::chrono::duration<double>(SteadyClock::now() - fill_start).count();

  // My tasks: a full page (the worker has hundreds of open tasks), and a
  // page of one, which leaves mostly the fixed cost of a request.
  std::string page;  // a full page, for the bare route that answers the same bytes
  {
    Connection connection(worker);
    if (connection.perform(base + kTasks + "/mine") != 200 ||
        nlohmann::json::parse(connection.body())["tasks"].size() != 100) {
      throw std::runtime_error("GET /tasks/mine did not answer a full page of 100 tasks: " +
                               connection.body());
    }
    page = connection.body();
  }
  const std::size_t page_bytes = page.size();
  const double mine = rate_for({.url = base + kTasks + "/mine", .token = worker}, kClients, window);
  const double mine_one =
      rate_for({.url = base + kTasks + "/mine?limit=1", .token = worker}, kClients, window);

  // A shuffle on its own.
  const Commits before = tracker_commits(base);
  auto start = SteadyClock::now();
  const std::uint64_t alone = shuffle(base, admin);
  const double shuffle_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
  const Commits after = tracker_commits(base);
  if (alone != open_tasks) {
    throw std::runtime_error("the shuffle reassigned " + std::to_string(alone) + " of " +
                             std::to_string(open_tasks) + " open tasks");
  }

  // One reader and one writer, each back to back on its own connection:
  // first without a shuffle, then while one runs.
  const Call read{.url = base + kTasks + "/" + probe_id, .token = admin};
  Latencies read_idle, write_idle, read_busy, write_busy;
  std::uint64_t open_now = open_tasks;
  {
    Probe reader(read), writer(create);
    std::this_thread::sleep_for(probe_window);
    const auto read_samples = reader.stop();
    const auto write_samples = writer.stop();
    read_idle = latencies(read_samples, {}, SteadyClock::time_point::max());
    write_idle = latencies(write_samples, {}, SteadyClock::time_point::max());
    open_now += write_samples.size();
  }
  std::uint64_t busy = 0;
  double busy_ms = 0;
  {
    Probe reader(read), writer(create);
    start = SteadyClock::now();
    busy = shuffle(base, admin);
    const auto end = SteadyClock::now();
    busy_ms = std::chrono::duration<double, std::milli>(end - start).count();
    const auto read_samples = reader.stop();
    const auto write_samples = writer.stop();
    read_busy = latencies(read_samples, start, end);
    write_busy = latencies(write_samples, start, end);
    // Every task open when it started, and perhaps some created meanwhile.
    if (busy < open_now || busy > open_now + write_samples.size()) {
      throw std::runtime_error("the shuffle with probes reassigned " + std::to_string(busy) +
                               " tasks, expected " + std::to_string(open_now) + " to " +
                               std::to_string(open_now + write_samples.size()));
    }
  }
  (*host)->shutdown();

  // The bare route again, answering a copy of that page, built before the
  // run: what moving the page's bytes costs, so that mine / bare_page is the
  // cost of finding and writing the tasks. Measured with the host shut down,
  // like the first bare route.
  double bare_page = 0;
  {
    server::HttpServer http({.port = 0, .threads = kServerThreads},
                            [&page](const plugin_api::Request&, const plugin_api::Responder& respond) {
                              respond(plugin_api::Response{200, "application/json", page, {}});
                            });
    const auto port = http.start();
    if (!port) throw std::runtime_error(port.status().to_string());
    bare_page = rate_for({.url = "http://127.0.0.1:" + std::to_string(*port) + "/bare"}, kClients, window);
  }

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);

  const auto row = [&](const std::string& what, const Latencies& l) {
    out << "  " << std::left << std::setw(34) << what << std::right << std::setprecision(2) << std::setw(8)
        << l.p50_ms << std::setw(9) << l.p99_ms << std::setw(9) << l.max_ms << std::setw(10) << l.count
        << "\n";
  };
  out << std::fixed << std::setprecision(0);
  out << "ates bench tracker: " << kServerThreads << " HTTP threads, keep-alive clients, " << window.count()
      << " ms windows, " << kWorkers << " workers, " << open_tasks << " open tasks\n\n";
  out << "task creations/s, durable (" << kClients << " clients):        " << creations << "  (" << open_tasks
      << " tasks in " << std::setprecision(1) << fill_s << " s)\n"
      << std::setprecision(0);
  out << "bare route, requests/s (" << kClients << " clients):               " << bare << "\n";
  out << "GET /tasks/mine, a page of 100 (" << kClients << " clients):      " << mine << "  = "
      << 100 * mine / bare << "% of the bare route (" << page_bytes / 1024 << " KiB answers)\n";
  out << "GET /tasks/mine?limit=1 (" << kClients << " clients):             " << mine_one << "  = "
      << 100 * mine_one / bare << "% of the bare route\n";
  out << "bare route, a pre-built " << page_bytes / 1024 << " KiB page (" << kClients
      << " clients):    " << bare_page << "\n";
  out << "GET /tasks/mine, a page of 100, against it:       " << 100 * mine / bare_page
      << "% of the bare route with a page-sized body\n";
  out << "shuffle of " << open_tasks << " open tasks (batches of 1000):   " << shuffle_ms
      << " ms  = " << 1000 * static_cast<double>(open_tasks) / shuffle_ms << " reassignments/s\n";
  out << "  of which in the tracker's write transactions: " << 1000 * (after.seconds - before.seconds)
      << " ms, " << after.count - before.count << " commits\n\n";
  out << "one client each, back to back; latency in ms:\n";
  out << "  " << std::left << std::setw(34) << "" << std::right << std::setw(8) << "p50" << std::setw(9)
      << "p99" << std::setw(9) << "max" << std::setw(10) << "requests"
      << "\n";
  row("GET /tasks/{id}, no shuffle", read_idle);
  row("GET /tasks/{id}, during a shuffle", read_busy);
  row("POST /tasks, no shuffle", write_idle);
  row("POST /tasks, during a shuffle", write_busy);
  out << std::setprecision(0) << "  (that shuffle: " << busy << " tasks in " << busy_ms << " ms)\n\n";
  out << "peak RSS: " << usage.ru_maxrss / 1024 << " MiB (the whole process: host, plugins, clients)\n";
}

}  // namespace ates::bench
