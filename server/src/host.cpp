// [SECTION] plugin context
// [SECTION] state of the host
// [SECTION] start-up
// [SECTION] HTTP dispatch: host routes, static files, plugin routes
// [SECTION] tokens and the user replica
// [SECTION] events admin routes
// [SECTION] reload and shutdown
// [SECTION] control socket and file watcher

#include "host.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zmq.hpp>

#include "ates/bus/bus.hpp"
#include "ates/plugin_api/jwt.hpp"
#include "ates/protocol/events.hpp"
#include "ates/protocol/registry.hpp"
#include "ates/protocol/time.hpp"
#include "ates/storage/lock_file.hpp"

#include "http_server.hpp"
#include "metrics.hpp"
#include "plugin_context.hpp"
#include "plugin_loader.hpp"
#include "router.hpp"
#include "secret_file.hpp"
#include "ui_files.hpp"

namespace ates::server {

using plugin_api::Method;
using plugin_api::Request;
using plugin_api::Responder;
using plugin_api::Response;
using protocol::Code;
using protocol::Status;

// [SECTION] plugin context ------------------------------------------------------

void PluginLogger::log(plugin_api::LogLevel level, std::string_view message, std::string_view request_id) {
  const auto spd_level = level == plugin_api::LogLevel::kDebug  ? spdlog::level::debug
                         : level == plugin_api::LogLevel::kInfo ? spdlog::level::info
                         : level == plugin_api::LogLevel::kWarn ? spdlog::level::warn
                                                                : spdlog::level::err;
  if (request_id.empty()) {
    spdlog::log(spd_level, "[{}] {}", plugin_, message);
  } else {
    spdlog::log(spd_level, "[{}] [{}] {}", plugin_, request_id, message);
  }
}

protocol::Result<std::string> PluginContext::hand_over_secret(std::string_view file_name,
                                                              std::string_view secret,
                                                              std::string_view line) {
  auto handed = server::hand_over_secret(data_dir_, file_name, secret, line);
  if (!handed) return handed.status();
  return handed->string();
}

void PluginContext::add_route(plugin_api::Route route) {
  std::string full = "/api/v1/" + name_ + route.pattern;
  if (!routes_.add(name_, full, std::move(route)))
    spdlog::error("[{}] route {} registered twice", name_, full);
}

plugin_api::StreamProgress PluginContext::stream_progress(std::string_view stream) const {
  for (const auto& c : bus_.consumers()) {
    if (c.consumer != name_ || c.stream != stream) continue;
    return {c.applied_seq, c.head_seq, c.watermark, std::string(bus::to_string(c.state))};
  }
  return {};
}

protocol::Result<std::vector<plugin_api::OpenDeadLetter>> PluginContext::open_dead_letters(
    std::string_view stream) const {
  std::vector<plugin_api::OpenDeadLetter> open;
  try {
    for (const auto& letter : bus::dead_letters(env_, name_)) {
      if (!letter.resolved && letter.stream == stream)
        open.push_back({letter.id, letter.seq, letter.event_time_us});
    }
  } catch (const std::exception& e) {
    return Status(Code::kInternal, "reading the dead letters of " + name_ + ": " + e.what());
  }
  return open;
}

// [SECTION] state of the host ---------------------------------------------------

namespace {

// The latest time the fake business clock may show: the start of
// 9999-12-30 UTC, so that the day of it in any zone (at most 14 hours
// ahead) is still a date ates accepts.
constexpr std::int64_t kLatestBusinessTimeUs = std::int64_t{253402128000} * 1'000'000;

// Records each commit of a plugin's storage in the metrics.
class StorageMetrics final : public storage::CommitObserver {
 public:
  StorageMetrics(MetricsRegistry& metrics, std::string plugin)
      : metrics_(metrics), plugin_(std::move(plugin)) {}
  void on_commit(const storage::CommitInfo& info) override {
    const Labels labels{{"plugin", plugin_}};
    metrics_.add("ates_storage_commits_total", labels, 1, "write transactions committed");
    metrics_.add("ates_storage_units_total", labels, static_cast<double>(info.units),
                 "units committed; divided by commits: the average batch");
    metrics_.set("ates_storage_last_batch_units", labels, static_cast<double>(info.units),
                 "units in the last batch");
    metrics_.observe("ates_storage_commit_duration_seconds", labels, info.commit_seconds,
                     "from a batch's begin to its durable commit");
    for (const auto& head : info.heads) {
      const Labels stream{{"stream", head.stream}};
      metrics_.set("ates_outbox_head_seq", stream, static_cast<double>(head.head_seq),
                   "newest sequence of a stream");
      metrics_.set("ates_outbox_watermark_seconds", stream, static_cast<double>(head.watermark) / 1e6,
                   "every event before this time has seq <= head");
    }
  }

 private:
  MetricsRegistry& metrics_;
  std::string plugin_;
};

}  // namespace

struct Slot {
  std::string name;
  std::filesystem::path file;
  PluginLibrary library;
  void* instance = nullptr;
  std::unique_ptr<storage::Environment> env;
  std::unique_ptr<PluginContext> context;
  std::unique_ptr<StorageMetrics> storage_metrics;
  std::string state = "loaded";  // loaded, running, failed, reloading, stopped
  std::string error;
};

// What the host keeps of auth.users in <data>/host/: the keys that verify
// tokens and, per user, the current role and whether the user is active.
struct ReplicaUser {
  std::string role;
  bool active = true;
  MSGPACK_DEFINE(role, active)
};

// What check_token decided: a principal or a refusal, and, when the token
// names a user the replica has not seen while it is still below the
// token's `useq`, the sequence of auth.users to wait for before asking
// again (the refusal then is the 503 to answer if it never comes).
struct TokenCheck {
  protocol::Result<plugin_api::Principal> principal;
  std::uint64_t wait_for_seq = 0;
};

// A request set aside until the replica of auth.users reaches `seq` or
// `deadline` passes; then it is routed again from the start.
struct ParkedRequest {
  Request request;
  Responder respond;
  std::uint64_t seq = 0;
  std::chrono::steady_clock::time_point deadline;
};

// At most this many requests wait for the replica at once; more get 503
// at once (they hold memory, not threads).
constexpr std::size_t kMaxParkedRequests = 1024;
constexpr std::string_view kParkedHelp =
    "requests waiting for the replica of auth.users to learn of their token's user";

// Tells the parked requests that the host's environment committed (the
// replica may have moved). Runs on the writer thread: only a notification.
class ReplicaCommits final : public storage::CommitObserver {
 public:
  explicit ReplicaCommits(std::function<void()> notify) : notify_(std::move(notify)) {}
  void on_commit(const storage::CommitInfo&) override { notify_(); }

 private:
  std::function<void()> notify_;
};

struct Host::Impl {
  Settings settings;
  std::unique_ptr<storage::Environment> host_env;
  storage::RawTable token_keys;                     // kid -> 32-byte Ed25519 public key
  storage::Table<std::int64_t> key_not_after;       // kid of a retired key -> when it stops verifying (µs)
  storage::Table<ReplicaUser> replica;              // user id -> role, active
  storage::Table<std::uint64_t> token_generations;  // user id -> lowest token generation still valid
  storage::Table<std::int64_t> revoked_tokens;      // jti -> the token's expiry (µs)
  storage::RawTable revoked_by_expiry;              // key_u64(expiry µs) + jti -> "": when to forget
  // Tokens whose signature was verified, until they expire: an Ed25519
  // verification costs more than the rest of a request. A signature stays
  // verified; everything that can change after it (a retired key,
  // revocations, role, deactivation) is looked up on every request.
  mutable std::mutex verified_mutex;  // guards verified
  mutable std::unordered_map<std::string, plugin_api::jwt::Claims> verified;
  // Requests whose token names a user the replica has not seen yet wait
  // here, holding no HTTP thread, for at most replica_wait
  // (tokens.replica_wait_ms); one thread routes them again when the
  // replica moves or their wait is over.
  std::chrono::milliseconds replica_wait{2000};
  std::mutex parking_mutex;  // guards parked, parking_events, parking_stop
  std::condition_variable parking_cv;
  std::vector<ParkedRequest> parked;
  std::uint64_t parking_events = 0;  // bumped by every commit of host_env and every park
  bool parking_stop = false;
  std::thread parking_thread;
  std::unique_ptr<ReplicaCommits> replica_commits;
  std::filesystem::path exe_dir;
  std::filesystem::path data_dir;
  std::optional<storage::DataDirLock> lock;
  MetricsRegistry metrics;
  RouteTable routes;
  std::unique_ptr<storage::Clock> business_clock;
  storage::ManualClock* fake_clock = nullptr;
  std::unique_ptr<PluginLoader> loader;
  std::unique_ptr<bus::Bus> bus;
  // The UI's files, in memory; set before the HTTP server starts, reloaded
  // by --dev's watcher.
  std::unique_ptr<UiServer> ui = std::make_unique<UiServer>();

  mutable std::mutex slots_mutex;  // guards every Slot's state/error/instance/library; serialises reloads
  std::vector<std::unique_ptr<Slot>> slots;

  std::unique_ptr<HttpServer> http;
  std::uint16_t port = 0;
  std::size_t body_limit = 65536;

  // In-flight requests per owner; reload and shutdown wait for them.
  std::mutex inflight_mutex;  // guards inflight
  std::condition_variable inflight_cv;
  std::map<std::string, int, std::less<>> inflight;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_request{0};
  std::string request_prefix;

  std::atomic<bool> threads_stop{false};
  // The control socket, bound by start() (so a socket that cannot be made
  // owner-only fails the start) and then served by control_thread.
  std::unique_ptr<zmq::context_t> control_context;
  std::unique_ptr<zmq::socket_t> control_socket;
  std::thread control_thread;
  std::thread watch_thread;
  bool shut_down = false;

  ~Impl() { shutdown(); }
  void shutdown();

  // Answers every request exactly once, whatever any part of it throws.
  // `may_park`: false for a request routed again after waiting, which
  // must not wait twice.
  void dispatch(Request request, Responder respond, bool may_park = true);
  void route_request(Request request, Responder respond, bool may_park);
  void serve_static(const Request& request, const Responder& respond);
  void load_ui();  // reads the UI folder (again), logging what it left out
  void begin(const std::string& owner);
  void end(const std::string& owner);
  void wait_idle(const std::string& owner, std::chrono::milliseconds timeout);
  Status start_slot(Slot& slot);
  void stop_slot(Slot& slot);
  Status reload(const std::string& name);
  Status stop_plugin(const std::string& name);
  Status start_plugin(const std::string& name);
  // The three above, in parts; with slots_mutex held.
  Slot* find_slot(const std::string& name);
  Status load_and_start(Slot& slot);
  protocol::Result<nlohmann::json> run_command(const std::string& plugin, const std::string& name,
                                               const nlohmann::json& args);
  nlohmann::json status_json() const;
  bool ready() const;
  nlohmann::json openapi() const;
  nlohmann::json streams_json() const;
  // Never throws: a token that cannot be checked is a Status.
  TokenCheck authenticate(const Request& request) const;
  TokenCheck check_token(const Request& request) const;
  nlohmann::json jwks() const;
  Status apply_user_event(storage::WriteTxn& txn, const protocol::Envelope& event);
  void forget_expired_revocations(storage::WriteTxn& txn) const;
  // Sets a request aside until the replica reaches `seq`; false when it
  // cannot wait (too many wait, or the host stops).
  bool park(const Request& request, const Responder& respond, std::uint64_t seq);
  void notify_parked();
  void parking_loop();
  void stop_parking();
  std::uint64_t replica_applied_seq() const;
  nlohmann::json dead_letters_json() const;
  void add_events_routes();
  Status bind_control();
  void control_loop();
  void watch_loop();
};

// [SECTION] start-up ------------------------------------------------------------

namespace {

std::vector<std::filesystem::path> candidate_dirs(const std::filesystem::path& exe_dir,
                                                  const std::string& configured, std::string_view beside,
                                                  std::string_view in_build_tree) {
  if (!configured.empty()) return {configured};
  return {exe_dir / beside, exe_dir.parent_path() / in_build_tree};
}

storage::EnvironmentOptions environment_options(const Settings& settings, const std::filesystem::path& dir,
                                                const std::string& producer, storage::Clock* clock) {
  return {.dir = dir,
          .producer = producer,
          .map_size = static_cast<std::size_t>(settings.get_int("storage.map_size_mb")) << 20,
          .max_readers = static_cast<unsigned>(settings.get_int("storage.max_readers")),
          .clock = clock};
}

// Descriptors for `connections` plus storage, the bus and plugins: the soft
// limit is raised towards the hard one if need be. Running out matters more
// than an error: the HTTP server stops accepting for good after a failed
// accept().
void ensure_descriptors(std::size_t connections) {
  constexpr rlim_t kReserve = 256;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(connections) + kReserve;
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    spdlog::warn(
        "http.max_connections is {} but only {} file descriptors are allowed (ulimit -n); lower it to {} or "
        "raise the limit",
        connections, limit.rlim_cur, limit.rlim_cur > kReserve ? limit.rlim_cur - kReserve : 1);
  }
}

// The HTTP server's options from the host's keys; an error names the key.
protocol::Result<HttpOptions> http_options(const Settings& s) {
  HttpOptions http;
  const std::string listen = s.get_string("http.listen");
  http.address = listen.substr(0, listen.rfind(':'));
  http.port = static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
  http.threads = static_cast<std::size_t>(std::max<std::int64_t>(1, s.get_int("http.threads")));
  http.body_limit = static_cast<std::size_t>(s.get_int("http.body_limit"));
  http.read_timeout = std::chrono::milliseconds(s.get_int("http.read_timeout_ms"));
  http.handle_timeout = std::chrono::milliseconds(s.get_int("http.handle_timeout_ms"));
  auto at_least = [&](std::string_view key, std::int64_t min) -> Status {
    if (s.get_int(key) >= min) return Status::ok();
    return protocol::invalid_argument("bad value for '" + std::string(key) + "' (" + s.source(key) +
                                      "): at least " + std::to_string(min) + ", got " +
                                      std::to_string(s.get_int(key)));
  };
  if (Status status = at_least("http.max_connections", 1); !status) return status;
  if (Status status = at_least("http.header_limit", 1024); !status) return status;
  http.max_connections = static_cast<std::size_t>(s.get_int("http.max_connections"));
  http.header_limit = static_cast<std::size_t>(s.get_int("http.header_limit"));
  http.tls_cert = s.get_string("http.tls_cert");
  http.tls_key = s.get_string("http.tls_key");
  auto trusted = TrustedProxies::parse(s.get_list("http.trusted_proxies"));
  if (!trusted) {
    return protocol::invalid_argument("bad value for 'http.trusted_proxies' (" +
                                      s.source("http.trusted_proxies") + "): " + trusted.status().message());
  }
  http.trusted_proxies = std::move(trusted).value();
  return http;
}

}  // namespace

Host::Host(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Host::~Host() { shutdown(); }

const Settings& Host::settings() const { return impl_->settings; }
std::uint16_t Host::port() const { return impl_->port; }
nlohmann::json Host::status_json() const { return impl_->status_json(); }
Status Host::reload(const std::string& plugin) { return impl_->reload(plugin); }
Status Host::stop_plugin(const std::string& plugin) { return impl_->stop_plugin(plugin); }
Status Host::start_plugin(const std::string& plugin) { return impl_->start_plugin(plugin); }

protocol::Result<std::unique_ptr<Host>> Host::start(const ConfigSources& sources,
                                                    const std::filesystem::path& exe) {
  auto impl = std::make_unique<Impl>();
  impl->exe_dir = std::filesystem::absolute(exe).parent_path();

  // First pass: the host's own keys, to learn where plugins are.
  auto first = load_settings(host_keys(), sources, /*allow_unknown=*/true);
  if (!first) return first.status();
  const auto dirs = candidate_dirs(impl->exe_dir, first->get_string("plugin_dir"), "plugins", "plugins");
  auto found = find_plugins(dirs);
  // Sections of plugins found but not loaded here are not errors: the same
  // configuration serves a process that runs only some plugins.
  std::vector<std::string> not_loaded;
  const auto wanted = first->get_list("plugins");
  for (const auto& [name, file] : found) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end())
      not_loaded.push_back(name);
  }
  if (!wanted.empty()) {
    for (const auto& name : wanted) {
      if (std::none_of(found.begin(), found.end(), [&](const auto& f) { return f.first == name; })) {
        return Status(Code::kNotFound,
                      "plugin '" + name + "' (from 'plugins') is not in " + dirs.front().string());
      }
    }
    std::erase_if(found, [&](const auto& f) {
      return std::find(wanted.begin(), wanted.end(), f.first) == wanted.end();
    });
  }

  // The HTTP edge's keys, TLS files included, before anything starts.
  if (auto http = http_options(*first); !http) {
    return http.status();
  } else if (!http->tls_cert.empty() || !http->tls_key.empty()) {
    if (Status status = check_tls_files(http->tls_cert, http->tls_key); !status) return status;
  }

  impl->data_dir = std::filesystem::absolute(first->get_string("data"));
  auto lock = storage::DataDirLock::acquire(impl->data_dir);
  if (!lock) return lock.status();
  impl->lock.emplace(std::move(lock).value());
  impl->loader = std::make_unique<PluginLoader>(impl->data_dir / "host" / "loaded-plugins");

  // Load the libraries to learn the keys they declare, then read the whole
  // configuration strictly.
  std::vector<KeySpec> keys = host_keys();
  for (const auto& [name, file] : found) {
    auto slot = std::make_unique<Slot>();
    slot->name = name;
    slot->file = file;
    auto library = impl->loader->load(file);
    if (!library) return library.status();
    slot->library = std::move(library).value();
    if (slot->library.name != name) {
      return Status(Code::kInvalidArgument,
                    "plugin file " + file.string() + " names itself '" + slot->library.name + "'");
    }
    const auto* entry = slot->library.entry;
    for (std::size_t i = 0; i < entry->config_key_count; ++i) {
      const auto& spec = entry->config_keys[i];
      const std::string type = spec.type;
      keys.push_back({name + "." + spec.name,
                      type == "int"    ? KeyType::kInt
                      : type == "bool" ? KeyType::kBool
                                       : KeyType::kString,
                      spec.default_value, "", spec.doc});
    }
    impl->slots.push_back(std::move(slot));
  }
  auto settings = load_settings(keys, sources, /*allow_unknown=*/false, not_loaded);
  if (!settings) return settings.status();
  impl->settings = std::move(settings).value();
  const Settings& s = impl->settings;

  const std::string level = s.get_string("log.level");
  if (level != "debug" && level != "info" && level != "warn" && level != "error") {
    return Status(Code::kInvalidArgument, "bad value for 'log.level' (" + s.source("log.level") +
                                              "): expected debug, info, warn or error, got '" + level + "'");
  }
  spdlog::set_level(spdlog::level::from_str(level));
  // A wait longer than a handler may take would be cut by the HTTP server.
  if (const std::int64_t wait = s.get_int("tokens.replica_wait_ms");
      wait < 0 || wait >= s.get_int("http.handle_timeout_ms")) {
    return Status(Code::kInvalidArgument,
                  "bad value for 'tokens.replica_wait_ms' (" + s.source("tokens.replica_wait_ms") +
                      "): expected 0 to less than http.handle_timeout_ms, got " + std::to_string(wait));
  }
  const std::string fake = s.get_string("fake_clock");
  if (!fake.empty()) {
    auto clock = std::make_unique<storage::ManualClock>(*parse_utc_time(fake));
    impl->fake_clock = clock.get();
    impl->business_clock = std::move(clock);
  } else {
    impl->business_clock = std::make_unique<storage::SystemClock>();
  }
  for (const auto& dir : candidate_dirs(impl->exe_dir, s.get_string("ui.dir"), "ui", "web-wasm/dist")) {
    if (std::filesystem::exists(dir / "index.html")) {
      impl->ui = std::make_unique<UiServer>(dir);
      impl->load_ui();
      break;
    }
  }
  impl->body_limit = static_cast<std::size_t>(s.get_int("http.body_limit"));
  {
    protocol::SeededRandom seed(static_cast<std::uint64_t>(::getpid()) ^
                                static_cast<std::uint64_t>(time(nullptr)));
    impl->request_prefix = protocol::make_uuid(seed).substr(0, 8);
  }

  // Host routes that go through the same checks as plugin routes.
  if (impl->fake_clock != nullptr) {
    storage::ManualClock* clock = impl->fake_clock;
    impl->routes.add(
        "host", "/api/v1/dev/clock",
        {Method::kPost, "", plugin_api::Access::only({plugin_api::Role::kAdmin}),
         [clock](Request request, Responder respond) {
           auto body = plugin_api::parse_json_object(request.body);
           if (!body) return respond(Response::from_status(body.status()));
           // Whole seconds, and never past the last second the
           // calendar of ates holds (9999-12-30, so a day in any
           // zone is still a day of year 9999): no overflow, no
           // year 10000.
           const auto advance = body->find("advance_seconds");
           const std::int64_t room_s = (kLatestBusinessTimeUs - clock->now_us()) / 1'000'000;
           if (advance == body->end() || !advance->is_number_integer() ||
               (advance->is_number_unsigned() &&
                advance->get<std::uint64_t>() > static_cast<std::uint64_t>(room_s)) ||
               advance->get<std::int64_t>() < 0 || advance->get<std::int64_t>() > room_s) {
             return respond(Response::problem(400, "validation",
                                              "advance_seconds: an integer from 0 to " +
                                                  std::to_string(std::max<std::int64_t>(0, room_s)) +
                                                  " (the clock stops at " +
                                                  protocol::format_utc(kLatestBusinessTimeUs) + ")"));
           }
           clock->advance(advance->get<std::int64_t>() * 1'000'000);
           respond(Response::json(200, {{"now", protocol::format_utc(clock->now_us())}}));
         },
         "advance the fake business clock (only with --fake-clock)"});
  }

  // The bus, before any plugin can publish or subscribe.
  {
    bus::BusOptions options;
    options.publish = s.get_string("bus.publish");
    options.replay = s.get_string("bus.replay");
    options.advertise_replay = s.get_string("bus.advertise_replay");
    options.peers = s.get_list("bus.peers");
    options.heartbeat = std::chrono::milliseconds(std::max<std::int64_t>(1, s.get_int("bus.heartbeat_ms")));
    options.send_hwm = static_cast<int>(s.get_int("bus.send_hwm"));
    options.curve = {s.get_string("bus.curve_public_key"), s.get_string("bus.curve_secret_key"),
                     s.get_list("bus.curve_allowed_clients")};
    auto started = bus::Bus::start(std::move(options));
    if (!started) return started.status();
    impl->bus = std::move(started).value();
    // As bound: a port 0 ("tcp://127.0.0.1:*") shows here, for the peers' configuration.
    spdlog::info("bus: publishing on {}, answering FETCH on {}", impl->bus->publish_endpoint(),
                 impl->bus->replay_endpoint());
  }
  impl->add_events_routes();
  if (impl->fake_clock != nullptr) {
    bus::Bus* bus = impl->bus.get();
    impl->routes.add(
        "host", "/api/v1/dev/hold",
        {Method::kPost, "", plugin_api::Access::only({plugin_api::Role::kAdmin}),
         [bus](Request request, Responder respond) {
           auto body = plugin_api::parse_json_object(request.body);
           if (!body) return respond(Response::from_status(body.status()));
           const auto stream = body->find("stream");
           const auto held = body->find("held");
           if (stream == body->end() || !stream->is_string())
             return respond(Response::problem(400, "validation", "stream: required, a string"));
           if (held == body->end() || !held->is_boolean())
             return respond(Response::problem(400, "validation", "held: required, true or false"));
           const Status status = bus->hold(stream->get<std::string>(), held->get<bool>());
           if (!status) return respond(Response::from_status(status));
           respond(Response::json(200, {{"stream", *stream}, {"held", *held}}));
         },
         "hold a local stream back as a partition would (only with --fake-clock)"});
  }

  // The host's own storage: signing keys and a user replica from
  // auth.users, so tokens are verified here even without the auth plugin.
  {
    auto env = storage::Environment::open(
        environment_options(s, impl->data_dir / "host", "host", impl->business_clock.get()));
    if (!env) return env.status();
    impl->host_env = std::move(env).value();
    impl->token_keys = impl->host_env->raw_table("token_keys");
    impl->key_not_after = impl->host_env->table<std::int64_t>("token_key_not_after");
    impl->replica = impl->host_env->table<ReplicaUser>("users");
    impl->token_generations = impl->host_env->table<std::uint64_t>("token_generations");
    impl->revoked_tokens = impl->host_env->table<std::int64_t>("revoked_tokens");
    impl->revoked_by_expiry = impl->host_env->raw_table("revoked_tokens_by_expiry");
    impl->replica_wait = std::chrono::milliseconds(s.get_int("tokens.replica_wait_ms"));
    Impl* host = impl.get();
    impl->replica_commits = std::make_unique<ReplicaCommits>([host] { host->notify_parked(); });
    impl->host_env->add_observer(impl->replica_commits.get());
    impl->parking_thread = std::thread([host] { host->parking_loop(); });
    if (Status status =
            impl->bus->add_consumer({"host", std::string(protocol::kUsersStream), impl->host_env.get(),
                                     [host](storage::WriteTxn& txn, const protocol::Envelope& event) {
                                       return host->apply_user_event(txn, event);
                                     }});
        !status) {
      return status;
    }
  }

  // Storage and instances.
  for (auto& slot : impl->slots) {
    auto env = storage::Environment::open(
        environment_options(s, impl->data_dir / slot->name, slot->name, impl->business_clock.get()));
    if (!env) return env.status();
    slot->env = std::move(env).value();
    slot->storage_metrics = std::make_unique<StorageMetrics>(impl->metrics, slot->name);
    slot->env->add_observer(slot->storage_metrics.get());
    slot->context =
        std::make_unique<PluginContext>(slot->name, *slot->env, impl->routes, impl->settings,
                                        *impl->business_clock, impl->metrics, *impl->bus, impl->data_dir);
    impl->bus->add_producer(*slot->env);
  }
  for (auto& slot : impl->slots) {
    if (Status status = impl->start_slot(*slot); !status) {
      spdlog::error("plugin {} failed to start and was unloaded: {}", slot->name, status.message());
    }
  }

  auto http = http_options(s);
  if (!http) return http.status();
  ensure_descriptors(http->max_connections);
  Impl* raw = impl.get();
  impl->http = std::make_unique<HttpServer>(std::move(http).value(), [raw](Request r, Responder respond) {
    raw->dispatch(std::move(r), std::move(respond));
  });
  auto port = impl->http->start();
  if (!port) return port.status();
  impl->port = *port;

  if (Status bound = impl->bind_control(); !bound) return bound;
  impl->control_thread = std::thread([raw] { raw->control_loop(); });
  if (s.get_bool("dev")) impl->watch_thread = std::thread([raw] { raw->watch_loop(); });
  return std::unique_ptr<Host>(new Host(std::move(impl)));
}

Status Host::Impl::start_slot(Slot& slot) {
  char error[512] = {};
  const auto* entry = slot.library.entry;
  slot.instance = entry->create(slot.context.get(), error, sizeof error);
  if (slot.instance == nullptr) {
    routes.remove_owner(slot.name);
    slot.context->take_subscriptions();
    slot.context->clear_services();
    slot.state = "failed";
    slot.error = std::string("create failed: ") + error;
    loader->unload(slot.library);
    return Status(Code::kInternal, slot.error);
  }
  if (entry->start(slot.instance, error, sizeof error) != 0) {
    routes.remove_owner(slot.name);
    slot.context->take_subscriptions();
    slot.context->clear_services();
    entry->stop(slot.instance);
    entry->destroy(slot.instance);
    slot.instance = nullptr;
    slot.state = "failed";
    slot.error = std::string("start failed: ") + error;
    // Whatever the plugin queued must be done before its code goes.
    slot.env->run([](storage::WriteTxn&) { return Status::ok(); });
    loader->unload(slot.library);
    return Status(Code::kInternal, slot.error);
  }
  for (auto& subscription : slot.context->take_subscriptions()) {
    if (Status status = bus->add_consumer(std::move(subscription)); !status)
      spdlog::error("[{}] {}", slot.name, status.message());
  }
  slot.state = "running";
  slot.error.clear();
  spdlog::info("plugin {} started ({})", slot.name, slot.file.string());
  return Status::ok();
}

void Host::Impl::stop_slot(Slot& slot) {
  if (slot.instance == nullptr) return;
  routes.remove_owner(slot.name);
  // Consumers first: each stops between batches, so no plugin code runs
  // from the bus once this returns.
  if (bus) bus->remove_consumers(slot.name);
  slot.context->clear_services();
  slot.context->clear_commands();
  wait_idle(slot.name, std::chrono::seconds(10));
  slot.library.entry->stop(slot.instance);
  // A no-op unit completes after every unit the plugin queued before it, and
  // its completion after theirs: no plugin code runs from storage after this.
  slot.env->run([](storage::WriteTxn&) { return Status::ok(); });
  slot.library.entry->destroy(slot.instance);
  slot.instance = nullptr;
  if (Status s = loader->unload(slot.library); !s) spdlog::error("{}", s.message());
  slot.state = "stopped";
}

// [SECTION] HTTP dispatch: host routes, static files, plugin routes --------------

void Host::Impl::begin(const std::string& owner) {
  std::lock_guard lock(inflight_mutex);
  ++inflight[owner];
}

void Host::Impl::end(const std::string& owner) {
  {
    std::lock_guard lock(inflight_mutex);
    --inflight[owner];
  }
  inflight_cv.notify_all();
}

void Host::Impl::wait_idle(const std::string& owner, std::chrono::milliseconds timeout) {
  std::unique_lock lock(inflight_mutex);
  inflight_cv.wait_for(lock, timeout, [&] {
    if (owner.empty()) {
      return std::all_of(inflight.begin(), inflight.end(),
                         [](const auto& entry) { return entry.second == 0; });
    }
    auto it = inflight.find(owner);
    return it == inflight.end() || it->second == 0;
  });
}

void Host::Impl::dispatch(Request request, Responder respond, bool may_park) {
  // The HTTP server ignores a second answer, so the fallback below is safe
  // even when the exception came after an answer.
  try {
    route_request(std::move(request), respond, may_park);
  } catch (const std::exception& e) {
    spdlog::error("[host] a request failed: {}", e.what());
    respond(Response::problem(500, "internal", "the request could not be handled"));
  } catch (...) {
    spdlog::error("[host] a request failed with a non-standard exception");
    respond(Response::problem(500, "internal", "the request could not be handled"));
  }
}

void Host::Impl::route_request(Request request, Responder respond, bool may_park) {
  const auto started = std::chrono::steady_clock::now();
  // A request routed again after waiting keeps its id.
  if (request.request_id.empty()) request.request_id = request_prefix + "-" + std::to_string(++next_request);
  // A parked request is routed again from here, so it needs the answer
  // path before the access log's wrapper below.
  const Responder raw_respond = respond;
  const std::string method(plugin_api::to_string(request.method));
  const std::string path = request.path;
  const std::string request_id = request.request_id;
  const std::string client = request.client_address.empty() ? "-" : request.client_address;
  // Every answer goes through here: metrics and the access log (no bodies,
  // no headers: nothing secret is logged).
  auto answer = [this, respond = std::move(respond), started, method, path, request_id, client](
                    Response response, const std::string& route, const std::string& owner) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics.add("ates_http_requests_total",
                {{"method", method}, {"route", route}, {"status", std::to_string(response.status)}}, 1,
                "HTTP requests answered");
    metrics.observe("ates_http_request_duration_seconds", {{"route", route}}, seconds,
                    "time to answer a request");
    spdlog::info("[{}] [{}] {} {} {} {} {:.2f}ms", owner, request_id, client, method, path, response.status,
                 seconds * 1000);
    response.headers.emplace_back("X-Request-Id", request_id);
    respond(std::move(response));
  };

  if (stopping.load()) {
    Response response = Response::problem(503, "shutting-down", "the server is shutting down");
    response.headers.emplace_back("Retry-After", "1");
    return answer(std::move(response), "unmatched", "host");
  }
  if (request.method == Method::kGet) {
    if (path == "/healthz") return answer(Response::json(200, {{"status", "alive"}}), path, "host");
    if (path == "/readyz") return answer(Response::json(ready() ? 200 : 503, status_json()), path, "host");
    if (path == "/metrics") {
      return answer(Response{200, "text/plain; version=0.0.4; charset=utf-8", metrics.render(), {}}, path,
                    "host");
    }
    if (path == "/api/v1/openapi.json") return answer(Response::json(200, openapi()), path, "host");
    if (path == "/.well-known/jwks.json") return answer(Response::json(200, jwks()), path, "host");
    if (!path.starts_with("/api/")) {
      return serve_static(request, [answer](Response r) { answer(std::move(r), "static", "host"); });
    }
  }
  if (request.body.size() > body_limit) {
    return answer(Response::problem(413, "too-large",
                                    "the body has " + std::to_string(request.body.size()) +
                                        " bytes; at most " + std::to_string(body_limit) + " are accepted"),
                  "unmatched", "host");
  }
  RouteMatch match = routes.match(request.method, path);
  switch (match.kind) {
    case RouteMatch::Kind::kNotFound:
      return answer(Response::problem(404, "not-found", "no route " + method + " " + path), "unmatched",
                    "host");
    case RouteMatch::Kind::kMethodNotAllowed:
      return answer(Response::problem(405, "method-not-allowed", method + " is not allowed on " + path),
                    "unmatched", "host");
    case RouteMatch::Kind::kReloading: {
      Response response =
          Response::problem(503, "reloading", "plugin " + match.owner + " is reloading; retry shortly");
      response.headers.emplace_back("Retry-After", "1");
      return answer(std::move(response), "unmatched", match.owner);
    }
    case RouteMatch::Kind::kFound:
      break;
  }
  // From here the plugin's code is in use: count the request as in flight
  // for its owner (a reload waits for it) until the handler's copy is gone
  // and, separately, until the answer has been sent.
  const std::string owner = match.owner;
  const std::string route = match.pattern;
  begin(owner);
  struct Release {
    Impl* host;
    const std::string& owner;
    ~Release() { host->end(owner); }
  } release_after_call{this, owner};
  if (request.header("authorization")) {
    TokenCheck check = authenticate(request);
    if (check.wait_for_seq > 0 && may_park && park(request, raw_respond, check.wait_for_seq)) return;
    if (!check.principal) return answer(Response::from_status(check.principal.status()), route, owner);
    request.principal = std::move(check.principal).value();
  }
  if (!match.access.allows(request.principal)) {
    if (!request.principal) {
      return answer(Response::problem(401, "unauthenticated", "a bearer token is required"), route, owner);
    }
    return answer(
        Response::problem(403, "forbidden",
                          "the role " + std::string(plugin_api::to_string(request.principal->role)) +
                              " may not " + method + " " + path),
        route, owner);
  }
  request.path_params = std::move(match.params);
  begin(owner);
  auto finish = [this, answer, owner, route](Response response) {
    answer(std::move(response), route, owner);
    end(owner);
  };
  try {
    plugin_api::Handler handler = std::move(match.handler);
    handler(std::move(request), finish);
  } catch (const std::exception& e) {
    spdlog::error("[{}] [{}] handler threw: {}", owner, request_id, e.what());
    finish(Response::problem(500, "internal", "the handler failed"));
  }
}

// Served from memory (ui_files.hpp): the path only picks a loaded file.
void Host::Impl::serve_static(const Request& request, const Responder& respond) {
  respond(ui->answer(request.path, request.header("if-none-match")));
}

void Host::Impl::load_ui() {
  auto loaded = ui->reload();
  if (!loaded) {
    spdlog::error("UI: {}; {}", loaded.status().message(),
                  ui->current() ? "still serving the files loaded before" : "the UI is not served");
    return;
  }
  for (const auto& skipped : (*loaded)->skipped()) spdlog::warn("UI: not served: {}", skipped);
  spdlog::info("UI: {} files, {} bytes, from {}", (*loaded)->size(), (*loaded)->total_bytes(),
               ui->dir().string());
}

nlohmann::json Host::Impl::status_json() const {
  const bool is_ready = ready();
  nlohmann::json plugins = nlohmann::json::array();
  {
    std::lock_guard lock(slots_mutex);
    for (const auto& slot : slots) {
      nlohmann::json item = {{"name", slot->name}, {"state", slot->state}};
      if (!slot->error.empty()) item["error"] = slot->error;
      plugins.push_back(std::move(item));
    }
  }
  const bool any_failed =
      std::any_of(plugins.begin(), plugins.end(), [](const auto& p) { return p["state"] == "failed"; });
  const char* status = is_ready ? "ready" : stopping ? "stopping" : any_failed ? "degraded" : "starting";
  return {{"status", status}, {"plugins", std::move(plugins)}, {"fake_clock", fake_clock != nullptr}};
}

bool Host::Impl::ready() const {
  if (stopping || port == 0) return false;
  std::lock_guard lock(slots_mutex);
  return std::all_of(slots.begin(), slots.end(), [](const auto& slot) { return slot->state == "running"; });
}

nlohmann::json Host::Impl::openapi() const {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& route : routes.list()) {
    std::string method(plugin_api::to_string(route.method));
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    nlohmann::json operation = {{"summary", route.summary}, {"tags", {route.owner}}};
    if (route.access.authenticated) {
      operation["security"] = {{{"bearer", nlohmann::json::array()}}};
      nlohmann::json roles = nlohmann::json::array();
      for (auto role : route.access.roles) roles.push_back(std::string(plugin_api::to_string(role)));
      operation["x-roles"] = roles;
    }
    paths[route.pattern][method] = std::move(operation);
  }
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "ates"}, {"version", "1"}}},
          {"components", {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
          {"paths", std::move(paths)}};
}

// [SECTION] tokens and the user replica ------------------------------------------

namespace {

std::int64_t real_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status Host::Impl::apply_user_event(storage::WriteTxn& txn, const protocol::Envelope& event) {
  using namespace protocol;
  auto set_user = [&](const std::string& id, const std::function<void(ReplicaUser&)>& change) {
    ReplicaUser user = replica.get(txn.handle(), id).value_or(ReplicaUser{"worker", true});
    change(user);
    replica.put(txn.handle(), id, user);
  };
  if (event.name == SigningKeyAdded::kName) {
    auto key = decode_payload<SigningKeyAdded>(event);
    if (!key) return key.status();
    token_keys.put(txn.handle(), key->kid, std::string_view(key->public_key.data(), key->public_key.size()));
  } else if (event.name == SigningKeyRetired::kName) {
    auto retired = decode_payload<SigningKeyRetired>(event);
    if (!retired) return retired.status();
    const auto current = key_not_after.get(txn.handle(), retired->kid);
    if (!current || retired->not_after < *current)
      key_not_after.put(txn.handle(), retired->kid, retired->not_after);
  } else if (event.name == UserCreated::kName) {
    auto user = decode_payload<UserCreated>(event);
    if (!user) return user.status();
    set_user(user->user_id, [&](ReplicaUser& u) { u = {user->role, user->active}; });
  } else if (event.name == UserUpdated::kName) {
    auto user = decode_payload<UserUpdated>(event);
    if (!user) return user.status();
    set_user(user->user_id, [&](ReplicaUser& u) { u = {user->role, user->active}; });
  } else if (event.name == UserRoleChanged::kName) {
    auto change = decode_payload<UserRoleChanged>(event);
    if (!change) return change.status();
    set_user(change->user_id, [&](ReplicaUser& u) { u.role = change->new_role; });
  } else if (event.name == UserDeactivated::kName) {
    auto change = decode_payload<UserDeactivated>(event);
    if (!change) return change.status();
    set_user(change->user_id, [&](ReplicaUser& u) { u.active = false; });
  } else if (event.name == TokensRevoked::kName) {
    auto revoked = decode_payload<TokensRevoked>(event);
    if (!revoked) return revoked.status();
    // Generations only grow: a replayed or reordered lower one changes nothing.
    if (revoked->generation > token_generations.get(txn.handle(), revoked->user_id).value_or(0)) {
      token_generations.put(txn.handle(), revoked->user_id, revoked->generation);
    }
  } else if (event.name == TokenRevoked::kName) {
    auto revoked = decode_payload<TokenRevoked>(event);
    if (!revoked) return revoked.status();
    revoked_tokens.put(txn.handle(), revoked->jti, revoked->expires_at);
    revoked_by_expiry.put(
        txn.handle(), storage::key_u64(static_cast<std::uint64_t>(revoked->expires_at)) + revoked->jti, "");
    forget_expired_revocations(txn);
  }
  return Status::ok();
}

// A revoked token past its expiry is refused as expired anyway: its
// revocation need not be kept. Real clock, as tokens' times are.
void Host::Impl::forget_expired_revocations(storage::WriteTxn& txn) const {
  const auto now = static_cast<std::uint64_t>(real_now_us());
  std::vector<std::string> expired;
  revoked_by_expiry.scan(txn.handle(), {}, [&](std::string_view key, std::string_view) {
    if (storage::decode_key_u64(key) > now) return false;
    expired.emplace_back(key);
    return true;
  });
  for (const auto& key : expired) {
    revoked_tokens.erase(txn.handle(), std::string_view(key).substr(8));
    revoked_by_expiry.erase(txn.handle(), key);
  }
}

TokenCheck Host::Impl::authenticate(const Request& request) const {
  try {
    return check_token(request);
  } catch (const std::exception& e) {
    spdlog::error("[host] checking a token failed: {}", e.what());
    return {Status(Code::kInternal, "the token could not be checked")};
  }
}

TokenCheck Host::Impl::check_token(const Request& request) const {
  const auto refuse = [](std::string why) {
    return TokenCheck{Status(Code::kUnauthenticated, std::move(why))};
  };
  const auto authorization = request.header("authorization");
  // The scheme's name is case-insensitive (RFC 7235 section 2.1).
  const auto is_bearer = [](std::string_view value) {
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() < kScheme.size()) return false;
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
    }
    return true;
  };
  if (!authorization || !is_bearer(*authorization)) {
    return refuse("the Authorization header must be 'Bearer <token>'");
  }
  storage::ReadTxn txn = host_env->read();
  const std::int64_t now_us = real_now_us();
  const std::int64_t now = now_us / 1'000'000;
  const std::string token(authorization->substr(7));
  std::optional<plugin_api::jwt::Claims> cached;
  {
    std::lock_guard lock(verified_mutex);
    if (auto it = verified.find(token); it != verified.end()) {
      if (it->second.exp > now) {
        cached = it->second;
      } else {
        verified.erase(it);
      }
    }
  }
  protocol::Result<plugin_api::jwt::Claims> claims =
      cached ? protocol::Result<plugin_api::jwt::Claims>(*cached)
             : plugin_api::jwt::verify(
                   token,
                   [&](std::string_view kid) -> std::optional<std::string> {
                     auto key = token_keys.get(txn.handle(), kid);
                     if (!key) return std::nullopt;
                     return std::string(*key);
                   },
                   now);
  if (!claims) return {claims.status()};
  if (!cached) {
    std::lock_guard lock(verified_mutex);
    if (verified.size() >= 100'000) verified.clear();  // a crude bound; verifying again is only slower
    verified.emplace(token, *claims);
  }
  // What may have changed since the signature was checked, on every
  // request, in this one snapshot: the key's retirement, the stream the
  // token came from, the user, their revocations.
  if (const auto not_after = key_not_after.get(txn.handle(), claims->kid);
      not_after && now_us >= *not_after) {
    return refuse("the token's signing key " + claims->kid + " was retired");
  }
  // A token of another epoch of auth.users (an auth restored or replaced)
  // speaks of users and generations this replica does not hold.
  const auto checkpoint = host_env->checkpoint(txn, protocol::kUsersStream);
  if (checkpoint && !checkpoint->epoch.empty() && checkpoint->epoch != claims->uep) {
    return refuse("the token was issued by another auth.users (epoch " + claims->uep +
                  ") than this host follows; log in again");
  }
  const auto user = replica.get(txn.handle(), claims->sub);
  if (!user) {
    // Never trusted on its own claims: once the replica has applied the
    // stream up to where it stood at the log-in, an unknown user is no
    // user; before that, the caller waits for the replica.
    const std::uint64_t applied = checkpoint ? checkpoint->applied_seq : 0;
    if (applied >= claims->useq) return refuse("the token's user is unknown");
    return {Status(Code::kUnavailable,
                   "this host has not learnt of the token's user yet (auth.users applied up to " +
                       std::to_string(applied) + " of " + std::to_string(claims->useq) + "); retry shortly"),
            claims->useq};
  }
  if (!user->active) return refuse("the user is deactivated");
  if (claims->gen < token_generations.get(txn.handle(), claims->sub).value_or(0)) {
    return refuse(
        "the token was revoked (a password change, a deactivation or an admin revoked it); log in again");
  }
  if (revoked_tokens.get(txn.handle(), claims->jti)) return refuse("the token was revoked by a log-out");
  // A role change reaches tokens already issued: the replica's role wins.
  auto parsed = plugin_api::role_from_string(user->role);
  if (!parsed) return refuse("the user has an unknown role");
  return {plugin_api::Principal{claims->sub, *parsed, claims->jti, claims->exp}};
}

bool Host::Impl::park(const Request& request, const Responder& respond, std::uint64_t seq) {
  if (replica_wait.count() == 0) return false;
  {
    std::lock_guard lock(parking_mutex);
    if (parking_stop || parked.size() >= kMaxParkedRequests) return false;
    parked.push_back({request, respond, seq, std::chrono::steady_clock::now() + replica_wait});
    ++parking_events;
    metrics.set("ates_tokens_parked_requests", {}, static_cast<double>(parked.size()), kParkedHelp);
  }
  parking_cv.notify_all();
  return true;
}

void Host::Impl::notify_parked() {
  {
    std::lock_guard lock(parking_mutex);
    ++parking_events;
  }
  parking_cv.notify_all();
}

std::uint64_t Host::Impl::replica_applied_seq() const {
  try {
    storage::ReadTxn txn = host_env->read();
    const auto checkpoint = host_env->checkpoint(txn, protocol::kUsersStream);
    return checkpoint ? checkpoint->applied_seq : 0;
  } catch (const std::exception& e) {
    spdlog::error("[host] reading the replica's position failed: {}", e.what());
    return 0;  // the parked requests get their 503 at their deadline
  }
}

// Routes a parked request again once the replica has applied its
// sequence, its wait is over, or the host stops; routed again, it does
// not wait twice (503 if the replica is still behind). No wake-up is
// lost: every commit and every park bumps parking_events, and the loop
// reads the replica's position only after taking note of the count.
void Host::Impl::parking_loop() {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(parking_mutex);
      const auto changed = [&] { return parking_stop || parking_events != seen; };
      if (parked.empty()) {
        parking_cv.wait(lock, changed);
      } else {
        auto deadline = parked.front().deadline;
        for (const auto& p : parked) deadline = std::min(deadline, p.deadline);
        parking_cv.wait_until(lock, deadline, changed);
      }
      seen = parking_events;
      if (parking_stop && parked.empty()) return;
    }
    const std::uint64_t applied = replica_applied_seq();
    const auto now = std::chrono::steady_clock::now();
    std::vector<ParkedRequest> ready;
    {
      std::lock_guard lock(parking_mutex);
      for (auto it = parked.begin(); it != parked.end();) {
        if (parking_stop || it->seq <= applied || it->deadline <= now) {
          ready.push_back(std::move(*it));
          it = parked.erase(it);
        } else {
          ++it;
        }
      }
      if (!ready.empty()) {
        metrics.set("ates_tokens_parked_requests", {}, static_cast<double>(parked.size()), kParkedHelp);
      }
    }
    for (auto& p : ready) dispatch(std::move(p.request), std::move(p.respond), /*may_park=*/false);
  }
}

void Host::Impl::stop_parking() {
  {
    std::lock_guard lock(parking_mutex);
    parking_stop = true;
  }
  parking_cv.notify_all();
  if (parking_thread.joinable()) parking_thread.join();
}

nlohmann::json Host::Impl::jwks() const {
  nlohmann::json keys = nlohmann::json::array();
  storage::ReadTxn txn = host_env->read();
  const std::int64_t now_us = real_now_us();
  token_keys.scan(txn.handle(), {}, [&](std::string_view kid, std::string_view key) {
    // A retired key past its overlap verifies nothing: not listed.
    if (const auto not_after = key_not_after.get(txn.handle(), kid); not_after && now_us >= *not_after)
      return true;
    keys.push_back({{"kty", "OKP"},
                    {"crv", "Ed25519"},
                    {"kid", std::string(kid)},
                    {"use", "sig"},
                    {"alg", "EdDSA"},
                    {"x", plugin_api::jwt::base64url(key)}});
    return true;
  });
  return {{"keys", std::move(keys)}};
}

// [SECTION] events admin routes --------------------------------------------------

namespace {

nlohmann::json dead_letter_json(const bus::DeadLetter& letter) {
  return {{"id", letter.id},
          {"stream", letter.stream},
          {"seq", letter.seq},
          {"consumer", letter.consumer},
          {"reason", letter.reason},
          {"time", protocol::format_utc(letter.time_us)},
          {"resolved", letter.resolved}};
}

}  // namespace

nlohmann::json Host::Impl::streams_json() const {
  std::map<std::string, nlohmann::json> streams;
  auto entry = [&](const std::string& name) -> nlohmann::json& {
    auto it = streams.find(name);
    if (it == streams.end()) {
      const auto* spec = protocol::Registry::instance().find_stream(name);
      it = streams
               .emplace(name, nlohmann::json{{"name", name},
                                             {"producer", spec ? std::string(spec->producer) : std::string()},
                                             {"head_seq", nullptr},
                                             {"watermark", nullptr},
                                             {"consumers", nlohmann::json::array()}})
               .first;
    }
    return it->second;
  };
  for (const auto& head : bus->local_streams()) {
    auto& stream = entry(head.stream);
    stream["head_seq"] = head.head_seq;
    stream["watermark"] = protocol::format_utc(head.watermark);
    stream["epoch"] = head.epoch;
  }
  for (const auto& consumer : bus->consumers()) {
    auto& stream = entry(consumer.stream);
    if (stream["head_seq"].is_null()) stream["head_seq"] = consumer.head_seq;  // as last heard
    nlohmann::json item = {{"plugin", consumer.consumer},
                           {"applied_seq", consumer.applied_seq},
                           {"lag", consumer.lag()},
                           {"state", std::string(bus::to_string(consumer.state))}};
    if (!consumer.error.empty()) item["error"] = consumer.error;
    stream["consumers"].push_back(std::move(item));
  }
  nlohmann::json list = nlohmann::json::array();
  for (auto& [name, stream] : streams) list.push_back(std::move(stream));
  return {{"streams", std::move(list)}};
}

nlohmann::json Host::Impl::dead_letters_json() const {
  nlohmann::json list = nlohmann::json::array();
  if (host_env) {
    for (const auto& letter : bus::dead_letters(*host_env, "host")) list.push_back(dead_letter_json(letter));
  }
  std::lock_guard lock(slots_mutex);
  for (const auto& slot : slots) {
    if (!slot->env) continue;
    for (const auto& letter : bus::dead_letters(*slot->env, slot->name))
      list.push_back(dead_letter_json(letter));
  }
  return {{"dead_letters", std::move(list)}};
}

void Host::Impl::add_events_routes() {
  const auto admin = plugin_api::Access::only({plugin_api::Role::kAdmin});
  routes.add("host", "/api/v1/events/streams",
             {Method::kGet, "", admin,
              [this](Request, Responder respond) { respond(Response::json(200, streams_json())); },
              "streams with head, watermark and each consumer's applied sequence, lag and state"});
  routes.add("host", "/api/v1/events/dead-letters",
             {Method::kGet, "", admin,
              [this](Request, Responder respond) { respond(Response::json(200, dead_letters_json())); },
              "dead letters of every consumer"});
  routes.add("host", "/api/v1/events/dead-letters/{id}/redrive",
             {Method::kPost, "", admin,
              [this](Request request, Responder respond) {
                // The re-drive runs the consuming plugin's code: a reload of
                // that plugin waits for it.
                const std::string id = request.path_params["id"];
                const std::string plugin = id.substr(0, id.rfind('-'));
                begin(plugin);
                const auto redriven = bus->redrive(id);
                end(plugin);
                if (!redriven) return respond(Response::from_status(redriven.status()));
                respond(Response::json(200, {{"dead_letter", dead_letter_json(*redriven)}}));
              },
              "apply a dead letter again, once"});
}

// [SECTION] reload and shutdown --------------------------------------------------

protocol::Result<nlohmann::json> Host::run_command(const std::string& plugin, const std::string& name,
                                                   const nlohmann::json& args) {
  return impl_->run_command(plugin, name, args);
}

protocol::Result<nlohmann::json> Host::Impl::run_command(const std::string& plugin, const std::string& name,
                                                         const nlohmann::json& args) {
  PluginContext* context = nullptr;
  {
    std::lock_guard lock(slots_mutex);
    for (const auto& slot : slots) {
      if (slot->name == plugin && slot->state == "running") context = slot->context.get();
    }
  }
  if (context == nullptr) return Status(Code::kNotFound, "plugin " + plugin + " does not run here");
  begin(plugin);  // a reload waits for a running command
  auto result = context->run_command(name, args);
  end(plugin);
  return result;
}

Slot* Host::Impl::find_slot(const std::string& name) {
  auto it = std::find_if(slots.begin(), slots.end(), [&](const auto& slot) { return slot->name == name; });
  return it == slots.end() ? nullptr : it->get();
}

// Loads the slot's file again and starts it; its routes answer again
// either way (404 when the library did not load, not an endless 503).
Status Host::Impl::load_and_start(Slot& slot) {
  auto library = loader->load(slot.file);
  if (!library) {
    slot.state = "failed";
    slot.error = library.status().message();
    spdlog::error("plugin {}: {}", slot.name, slot.error);
    routes.set_reloading(slot.name, false);
    return library.status();
  }
  slot.library = std::move(library).value();
  Status status = start_slot(slot);
  routes.set_reloading(slot.name, false);
  return status;
}

Status Host::Impl::reload(const std::string& name) {
  std::lock_guard lock(slots_mutex);
  Slot* slot = find_slot(name);
  if (slot == nullptr) return Status(Code::kNotFound, "no plugin named " + name);
  // A stopped plugin stays stopped until started (which loads its file
  // then); a reload, by hand or by --dev's watcher, must not start it.
  if (slot->state == "stopped") return Status(Code::kConflict, "plugin " + name + " is stopped; start it");
  spdlog::info("plugin {}: reloading from {}", name, slot->file.string());
  routes.set_reloading(name, true);
  slot->state = "reloading";
  stop_slot(*slot);
  slot->state = "reloading";
  return load_and_start(*slot);
}

Status Host::Impl::stop_plugin(const std::string& name) {
  std::lock_guard lock(slots_mutex);
  Slot* slot = find_slot(name);
  if (slot == nullptr) return Status(Code::kNotFound, "no plugin named " + name);
  if (slot->state != "running") return Status(Code::kConflict, "plugin " + name + " is " + slot->state);
  spdlog::info("plugin {}: stopping until started again", name);
  routes.set_reloading(name, true);  // 503 + Retry-After meanwhile, as during a reload
  stop_slot(*slot);
  return Status::ok();
}

Status Host::Impl::start_plugin(const std::string& name) {
  std::lock_guard lock(slots_mutex);
  Slot* slot = find_slot(name);
  if (slot == nullptr) return Status(Code::kNotFound, "no plugin named " + name);
  if (slot->state != "stopped") return Status(Code::kConflict, "plugin " + name + " is " + slot->state);
  spdlog::info("plugin {}: starting again from {}", name, slot->file.string());
  return load_and_start(*slot);
}

void Host::shutdown() { impl_->shutdown(); }

// Also what a failed start runs (from ~Impl), so it copes with whatever was
// reached: no HTTP server yet, plugins loaded but not created, no bus.
void Host::Impl::shutdown() {
  if (shut_down) return;
  shut_down = true;
  spdlog::info("shutting down: draining requests");
  stopping = true;
  stop_parking();  // parked requests are answered 503 (shutting down)
  wait_idle("", std::chrono::seconds(10));
  if (http) http->stop();
  threads_stop = true;
  if (watch_thread.joinable()) watch_thread.join();
  if (control_thread.joinable()) control_thread.join();
  control_socket.reset();
  control_context.reset();
  {
    std::lock_guard lock(slots_mutex);
    for (auto it = slots.rbegin(); it != slots.rend(); ++it) stop_slot(**it);
    bus.reset();  // it observes the environments: gone before they close
    if (host_env && replica_commits) host_env->remove_observer(replica_commits.get());
    host_env.reset();
    for (auto it = slots.rbegin(); it != slots.rend(); ++it) {
      Slot& slot = **it;
      if (slot.env) slot.env->remove_observer(slot.storage_metrics.get());
      slot.context.reset();
      slot.env.reset();  // closes LMDB after its writer drained
      if (slot.library.handle != nullptr) loader->unload(slot.library);  // loaded, never created
    }
  }
  lock.reset();
  spdlog::info("stopped");
}

// [SECTION] control socket and file watcher ----------------------------------------

Status Host::Impl::bind_control() {
  const std::filesystem::path path = data_dir / "control";
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  try {
    control_context = std::make_unique<zmq::context_t>(1);
    control_socket = std::make_unique<zmq::socket_t>(*control_context, zmq::socket_type::rep);
    control_socket->set(zmq::sockopt::linger, 0);
    control_socket->bind("ipc://" + path.string());
  } catch (const zmq::error_t& e) {
    return Status(Code::kInternal, "cannot open the control socket " + path.string() + ": " + e.what());
  }
  // Only the owner of the data directory may command the server (the
  // directory, 0700 and ours, already keeps others out; this is the second
  // wall, so a socket that stays open to others is an error).
  if (::chmod(path.c_str(), 0600) != 0) {
    return Status(Code::kInternal, "cannot make the control socket " + path.string() +
                                       " owner-only (chmod 0600): " + std::strerror(errno));
  }
  return Status::ok();
}

void Host::Impl::control_loop() {
  try {
    zmq::socket_t& socket = *control_socket;
    while (!threads_stop.load()) {
      zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(100));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      zmq::message_t message;
      if (!socket.recv(message)) continue;
      nlohmann::json reply;
      const auto command = nlohmann::json::parse(message.to_string(), nullptr, false);
      const std::string name = command.is_object() ? command.value("command", "") : "";
      if (name == "status") {
        reply = status_json();
      } else if (name == "streams") {
        reply = streams_json();
      } else if (name == "dead-letters") {
        reply = dead_letters_json();
      } else if (name == "redrive" && command.contains("id") && command["id"].is_string()) {
        const std::string id = command["id"];
        begin(id.substr(0, id.rfind('-')));
        const auto redriven = bus->redrive(id);
        end(id.substr(0, id.rfind('-')));
        reply = {{"ok", redriven.has_value()}, {"error", redriven.status().message()}};
      } else if (name == "plugin" && command.contains("plugin") && command.contains("name")) {
        const auto result = run_command(command.value("plugin", ""), command.value("name", ""),
                                        command.value("args", nlohmann::json::object()));
        reply = result ? nlohmann::json{{"ok", true}, {"result", *result}}
                       : nlohmann::json{{"ok", false}, {"error", result.status().message()}};
      } else if (name == "reload" && command.contains("plugin") && command["plugin"].is_string()) {
        const Status status = reload(command["plugin"].get<std::string>());
        reply = {{"ok", status.is_ok()}, {"error", status.message()}};
      } else if ((name == "stop" || name == "start") && command.contains("plugin") &&
                 command["plugin"].is_string()) {
        const std::string plugin = command["plugin"];
        const Status status = name == "stop" ? stop_plugin(plugin) : start_plugin(plugin);
        reply = {{"ok", status.is_ok()}, {"error", status.message()}};
      } else {
        reply = {{"ok", false}, {"error", "unknown command"}};
      }
      socket.send(zmq::buffer(reply.dump()), zmq::send_flags::none);
    }
  } catch (const std::exception& e) {
    spdlog::error("control socket: {}", e.what());
  }
}

namespace {

// The folders a UI change can happen in: the UI folder and the folders
// below it (symlinked ones are not followed, as UiFiles::load does not).
std::vector<std::filesystem::path> ui_folders(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> folders;
  if (dir.empty()) return folders;
  folders.push_back(dir);
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, std::filesystem::directory_options::none, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) folders.push_back(it->path());
  }
  return folders;
}

}  // namespace

void Host::Impl::watch_loop() {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    spdlog::error("--dev: inotify unavailable; plugins and the UI will not reload");
    return;
  }
  // One mask for every watch: a folder watched twice (a plugin folder that
  // is also the UI folder) keeps one mask, and each event is filtered below.
  constexpr std::uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE;
  std::map<int, std::filesystem::path> watched;
  std::set<int> ui_watches;
  {
    std::lock_guard lock(slots_mutex);
    for (const auto& slot : slots) {
      const auto dir = slot->file.parent_path();
      const int wd = ::inotify_add_watch(fd, dir.c_str(), kMask);
      if (wd >= 0) watched[wd] = dir;
    }
  }
  const std::size_t plugin_dirs = watched.size();
  // A rebuilt UI is served without a restart; folders made since are
  // watched from the next reload on.
  auto watch_ui = [&] {
    for (const auto& folder : ui_folders(ui->dir())) {
      const int wd = ::inotify_add_watch(fd, folder.c_str(), kMask);
      if (wd < 0) continue;
      watched.emplace(wd, folder);
      ui_watches.insert(wd);
    }
  };
  watch_ui();
  spdlog::info("--dev: watching {} plugin directories and {} UI folders", plugin_dirs, ui_watches.size());
  alignas(inotify_event) char buffer[8192];
  while (!threads_stop.load()) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // poll the stop flag
      continue;
    }
    std::set<std::string> changed;
    bool ui_changed = false;
    for (char* p = buffer; p < buffer + n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(p);
      if (ui_watches.contains(event->wd)) ui_changed = true;
      // A plugin reloads once its new file is complete.
      if (event->len > 0 && (event->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) != 0) {
        changed.insert((watched[event->wd] / event->name).string());
      }
      p += sizeof(inotify_event) + event->len;
    }
    std::vector<std::string> to_reload;
    {
      std::lock_guard lock(slots_mutex);
      for (const auto& slot : slots) {
        if (changed.contains(slot->file.string())) to_reload.push_back(slot->name);
      }
    }
    for (const auto& name : to_reload) {
      if (Status status = reload(name); !status)
        spdlog::error("--dev: reload of {} failed: {}", name, status.message());
    }
    if (ui_changed) {
      load_ui();
      watch_ui();
    }
  }
  ::close(fd);
}

}  // namespace ates::server
