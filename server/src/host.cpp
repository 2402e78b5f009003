// The host as a composition root: it reads the configuration, makes the
// parts and wires them together, routes each HTTP request, and takes
// everything down in the reverse order. What each part does lives in its
// own files:
//
//   plugin_manager    the plugins' slots: load, start, stop, reload
//   auth_gate         bearer tokens against the replica of auth.users
//   parking_lot       requests waiting for that replica to catch up
//   admin_routes      the events and dev routes, the OpenAPI document
//   ui_files          the UI's files, served from memory
//   control_server    the control socket of the CLI
//   dev_watcher       --dev's reload of plugins and UI on a rebuild
//   metrics           /metrics, and each environment's commits
//   inflight          work in flight per plugin, which a reload waits for
//
// The parts' fields are in host_impl.hpp, the path of an HTTP request in
// host_dispatch.cpp.
//
// [SECTION] start-up
// [SECTION] control commands
// [SECTION] shutdown

#include "host.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "ates/protocol/events.hpp"
#include "ates/protocol/uuid.hpp"

#include "audit.hpp"
#include "backup.hpp"
#include "backup_schedule.hpp"
#include "host_impl.hpp"
#include "host_setup.hpp"
#include "http_options.hpp"
#include "log_format.hpp"
#include "plugin_context.hpp"

namespace ates::server {

using base::Code;
using base::Status;
using plugin_api::Request;
using plugin_api::Responder;

// [SECTION] start-up ------------------------------------------------------------

Host::Host(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Host::~Host() { shutdown(); }
const Settings& Host::settings() const { return impl_->settings; }
std::uint16_t Host::port() const { return impl_->port; }
nlohmann::json Host::status_json() const { return impl_->status_json(PluginManager::Detail::kBuilds); }
Status Host::reload(const std::string& plugin) { return impl_->plugins->reload(plugin); }
Status Host::stop_plugin(const std::string& plugin) { return impl_->plugins->stop_plugin(plugin); }
Status Host::start_plugin(const std::string& plugin) { return impl_->plugins->start_plugin(plugin); }
void Host::shutdown() { impl_->shutdown(); }
nlohmann::json Host::audit() { return impl_->audit(); }
base::Result<nlohmann::json> Host::run_command(const std::string& plugin, const std::string& name,
                                               const nlohmann::json& args) {
  return impl_->plugins->run_command(plugin, name, args);
}

base::Result<nlohmann::json> Host::backup(const std::filesystem::path& dest) { return impl_->backup(dest); }

base::Result<nlohmann::json> Host::Impl::backup(const std::filesystem::path& dest) {
  std::vector<BackupSource> sources{{"host", host_env.get()}};
  for (const auto& slot : plugins->slots()) {
    if (slot->env) sources.push_back({slot->name, slot->env.get()});
  }
  return write_backup(sources, data_dir, dest, business_clock->now_us());
}

base::Result<nlohmann::json> Host::redrive(std::string_view id) {
  auto redriven = impl_->events->redrive(id);
  if (!redriven) return redriven.status();
  return dead_letter_json(*redriven);
}

namespace {

std::vector<std::filesystem::path> candidate_dirs(const std::filesystem::path& exe_dir,
                                                  const std::string& configured, std::string_view beside,
                                                  std::string_view in_build_tree) {
  if (!configured.empty()) return {configured};
  return {exe_dir / beside, exe_dir.parent_path() / in_build_tree};
}

// The host's keys checked beyond their types.
Status check_host_keys(const Settings& s) {
  const std::string level = s.get_string("log.level");
  if (level != "debug" && level != "info" && level != "warn" && level != "error") {
    return Status(Code::kInvalidArgument, "bad value for 'log.level' (" + s.source("log.level") +
                                              "): expected debug, info, warn or error, got '" + level + "'");
  }
  // A wait longer than a handler may take would be cut by the HTTP server.
  if (const std::int64_t wait = s.get_int("tokens.replica_wait_ms");
      wait < 0 || wait >= s.get_int("http.handle_timeout_ms")) {
    return Status(Code::kInvalidArgument,
                  "bad value for 'tokens.replica_wait_ms' (" + s.source("tokens.replica_wait_ms") +
                      "): expected 0 to less than http.handle_timeout_ms, got " + std::to_string(wait));
  }
  return Status::ok();
}

base::Result<std::unique_ptr<bus::Bus>> start_bus(const Settings& s) {
  bus::BusOptions options;
  options.publish = s.get_string("bus.publish");
  options.replay = s.get_string("bus.replay");
  for (const std::string& text : s.get_list("bus.peers")) {
    auto peer = bus::parse_peer(text);
    if (!peer)
      return Status(peer.status().code(), peer.status().message() + " (" + s.source("bus.peers") + ")");
    options.peers.push_back(std::move(peer).value());
  }
  options.heartbeat = std::chrono::milliseconds(std::max<std::int64_t>(1, s.get_int("bus.heartbeat_ms")));
  options.send_hwm = static_cast<int>(s.get_int("bus.send_hwm"));
  options.curve = {.public_key = s.get_string("bus.curve_public_key"),
                   .secret_key = s.get_string("bus.curve_secret_key"),
                   .clients = {},
                   .next_secret_key = s.get_string("bus.curve_next_secret_key")};
  options.next_publish = s.get_string("bus.next_publish");
  options.next_replay = s.get_string("bus.next_replay");
  for (const std::string& text : s.get_list("bus.clients")) {
    auto grant = bus::parse_grant(text);
    if (!grant)
      return Status(grant.status().code(), grant.status().message() + " (" + s.source("bus.clients") + ")");
    options.curve.clients.push_back(std::move(grant).value());
  }
  auto started = bus::Bus::start(std::move(options));
  if (!started) return started.status();
  // As bound: a port 0 ("tcp://127.0.0.1:*") shows here, for the peers' configuration.
  spdlog::info("bus: publishing on {}, answering FETCH on {}", (*started)->publish_endpoint(),
               (*started)->replay_endpoint());
  if (!(*started)->next_publish_endpoint().empty()) {
    spdlog::info("bus: rotating keys: the new key {} publishes on {}, answers FETCH on {}",
                 bus::curve_public_key(s.get_string("bus.curve_next_secret_key")).value_or("?"),
                 (*started)->next_publish_endpoint(), (*started)->next_replay_endpoint());
  }
  return started;
}

// A stream has one producer: a plugin here whose stream a bus peer also
// owns would leave this host's consumers taking it from the peer alone,
// while this host's outbox grew a second log of it.
Status one_producer_per_stream(const Settings& s, const PluginManager& plugins) {
  for (const std::string& text : s.get_list("bus.peers")) {
    auto peer = bus::parse_peer(text);
    if (!peer) continue;  // start_bus says what is wrong with it
    for (const auto& slot : plugins.slots()) {
      for (const auto& spec : protocol::Registry::instance().streams()) {
        if (spec.producer != slot->name ||
            std::find(peer->streams.begin(), peer->streams.end(), spec.name) == peer->streams.end())
          continue;
        return base::invalid_argument("stream " + std::string(spec.name) + " is produced here by plugin " +
                                      slot->name + " and owned by the bus peer at " + peer->publish + " (" +
                                      s.source("bus.peers") + "): a stream has one producer");
      }
    }
  }
  return Status::ok();
}

}  // namespace

// Loads the libraries of the plugins wanted, to learn the keys they declare.
Status Host::Impl::load_plugins(const Settings& first, std::vector<std::string>& not_loaded) {
  auto wanted = wanted_plugins(first, exe_dir, not_loaded);
  if (!wanted) return wanted.status();
  for (auto& [name, file] : *wanted) {
    if (auto added = plugins->add(name, file); !added) return added.status();
  }
  return Status::ok();
}

// The host's own storage: signing keys and a user replica from auth.users,
// so tokens are verified here even without the auth plugin.
Status Host::Impl::open_replica() {
  auto env = storage::Environment::open(
      environment_options(settings, data_dir / "host", "host", business_clock.get()));
  if (!env) return env.status();
  host_env = std::move(env).value();
  auth = std::make_unique<AuthGate>(*host_env, real_clock);
  parking = std::make_unique<ParkingLot>(
      kMaxParkedRequests, std::chrono::milliseconds(settings.get_int("tokens.replica_wait_ms")),
      [this] { return auth->replica_applied_seq(); },
      [this](ParkedRequest parked) {
        dispatch(std::move(parked.request), std::move(parked.respond), /*may_park=*/false);
      },
      metrics);
  replica_moved = std::make_unique<CommitNotice>([this] { parking->notify(); });
  host_env->add_observer(replica_moved.get());
  return bus->add_consumer({"host", std::string(protocol::kUsersStream), host_env.get(),
                            [this](storage::WriteTxn& txn, const protocol::Envelope& event) {
                              return auth->apply_user_event(txn, event);
                            }});
}

base::Result<std::unique_ptr<Host>> Host::start(const ConfigSources& sources,
                                                const std::filesystem::path& exe) {
  auto impl = std::make_unique<Impl>();
  Impl& host = *impl;
  host.exe_dir = std::filesystem::absolute(exe).parent_path();

  // First pass: the host's own keys, to learn where plugins and data are,
  // and the HTTP edge's keys, TLS files included, before anything starts.
  auto first = load_settings(host_keys(), sources, /*allow_unknown=*/true);
  if (!first) return first.status();
  if (Status status = use_log_format(first->get_string("log.format")); !status) return status;
  auto http_first = http_options(*first);
  if (!http_first) return http_first.status();
  if (!http_first->tls_cert.empty() || !http_first->tls_key.empty()) {
    if (Status status = check_tls_files(http_first->tls_cert, http_first->tls_key); !status) return status;
  }
  host.data_dir = std::filesystem::absolute(first->get_string("data"));
  auto lock = storage::DataDirLock::acquire(host.data_dir);
  if (!lock) return lock.status();
  host.lock.emplace(std::move(lock).value());
  host.loader = std::make_unique<PluginLoader>(host.data_dir / "host" / "loaded-plugins");
  host.plugins = std::make_unique<PluginManager>(*host.loader, host.routes, host.inflight);

  // Second pass: the whole configuration, strictly, with the plugins' keys.
  std::vector<std::string> not_loaded;
  if (Status status = host.load_plugins(*first, not_loaded); !status) return status;
  std::vector<KeySpec> keys = host_keys();
  for (const auto& slot : host.plugins->slots()) add_plugin_keys(slot->name, *slot->library.entry, keys);
  auto settings = load_settings(keys, sources, /*allow_unknown=*/false, not_loaded);
  if (!settings) return settings.status();
  host.settings = std::move(settings).value();
  const Settings& s = host.settings;
  if (Status status = check_host_keys(s); !status) return status;
  spdlog::set_level(spdlog::level::from_str(s.get_string("log.level")));

  if (const std::string fake = s.get_string("fake_clock"); !fake.empty()) {
    auto clock = std::make_unique<base::ManualClock>(*parse_utc_time(fake));
    host.fake_clock = clock.get();
    host.business_clock = std::move(clock);
  } else {
    host.business_clock = std::make_unique<base::SystemClock>();
  }
  for (const auto& dir : candidate_dirs(host.exe_dir, s.get_string("ui.dir"), "ui", "web-wasm/dist")) {
    if (std::filesystem::exists(dir / "index.html")) {
      host.ui = std::make_unique<UiServer>(dir);
      host.load_ui();
      break;
    }
  }
  host.body_limit = static_cast<std::size_t>(s.get_int("http.body_limit"));
  {
    base::SeededRandom seed(static_cast<std::uint64_t>(::getpid()) ^
                            static_cast<std::uint64_t>(time(nullptr)));
    host.request_prefix = protocol::make_uuid(seed).substr(0, 8);
  }

  // The bus, before any plugin can publish or subscribe.
  if (Status one = one_producer_per_stream(s, *host.plugins); !one) return one;
  auto bus = start_bus(s);
  if (!bus) return bus.status();
  host.bus = std::move(bus).value();
  host.plugins->set_bus(host.bus.get());
  host.events = std::make_unique<EventsAdmin>(*host.bus, host.inflight, [&host] {
    ConsumerEnvironments environments;
    if (host.host_env) environments.emplace_back("host", host.host_env.get());
    for (auto& entry : host.plugins->environments()) environments.push_back(std::move(entry));
    return environments;
  });
  if (Status status = host.open_replica(); !status) return status;
  // The host's own POST routes remember their answers for Idempotency-Key
  // in the host's environment, as the plugins do in theirs.
  host.idempotency = std::make_unique<plugin_api::Idempotency>(*host.host_env);
  const HostStore store{*host.host_env, *host.idempotency};
  add_events_routes(host.routes, *host.events, store);
  if (host.fake_clock != nullptr) add_dev_routes(host.routes, *host.fake_clock, *host.bus, store);

  // Each plugin's storage and context, then the plugins themselves.
  for (const auto& slot : host.plugins->slots()) {
    auto env = storage::Environment::open(
        environment_options(s, host.data_dir / slot->name, slot->name, host.business_clock.get()));
    if (!env) return env.status();
    slot->env = std::move(env).value();
    slot->storage_metrics = std::make_unique<StorageMetrics>(host.metrics, slot->name);
    slot->env->add_observer(slot->storage_metrics.get());
    host.producer_envs.emplace(slot->name, slot->env.get());
    host.bus->add_producer(*slot->env);
  }
  const ContextServices services{.routes = host.routes,
                                 .settings = host.settings,
                                 .clock = *host.business_clock,
                                 .metrics = host.metrics,
                                 .bus = host.bus.get(),
                                 .data_dir = host.data_dir,
                                 .mode = plugin_api::RunMode::kServe,
                                 .producers = [&host](std::string_view plugin) -> storage::Environment* {
                                   const auto it = host.producer_envs.find(plugin);
                                   return it == host.producer_envs.end() ? nullptr : it->second;
                                 }};
  for (const auto& slot : host.plugins->slots())
    slot->context = std::make_unique<PluginContext>(slot->name, *slot->env, services);
  host.plugins->start_all();

  auto http = http_options(s);
  if (!http) return http.status();
  ensure_descriptors(http->max_connections);
  host.http = std::make_unique<HttpServer>(std::move(http).value(), [&host](Request r, Responder respond) {
    host.dispatch(std::move(r), std::move(respond));
  });
  auto port = host.http->start();
  if (!port) return port.status();
  host.port = *port;

  auto control = ControlServer::start(host.data_dir / "control", [&host](const nlohmann::json& command) {
    return host.control_command(command);
  });
  if (!control) return control.status();
  host.control = std::move(control).value();
  if (const std::string dir = s.get_string("backup.dir"); !dir.empty()) {
    auto every = parse_every(s.get_string("backup.every"));
    if (!every) return every.status();
    if (s.get_int("backup.keep") < 1) return base::invalid_argument("backup.keep: at least 1");
    host.backups = std::make_unique<BackupSchedule>(
        BackupSchedule::Options{.dir = std::filesystem::absolute(dir),
                                .every = *every,
                                .keep = static_cast<std::size_t>(s.get_int("backup.keep"))},
        [&host](const std::filesystem::path& dest) { return host.backup(dest); }, host.real_clock,
        host.metrics);
  }
  if (s.get_bool("dev")) {
    host.watcher = std::make_unique<DevWatcher>(
        host.plugins->files(), host.ui->dir(),
        [&host](const std::filesystem::path& file) {
          const std::string name = host.plugins->name_of(file);
          if (name.empty()) return;
          if (Status status = host.plugins->reload(name); !status)
            spdlog::error("--dev: reload of {} failed: {}", name, status.message());
        },
        [&host] { host.load_ui(); });
  }
  return std::unique_ptr<Host>(new Host(std::move(impl)));
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

// [SECTION] control commands -----------------------------------------------------

// What `ates status`, `audit`, `reload`, `stop`, `start`, `streams`,
// `dead-letters` and the plugin commands ask through the control socket.
nlohmann::json Host::Impl::control_command(const nlohmann::json& command) {
  const std::string name = command.is_object() ? command.value("command", "") : "";
  const auto text = [&](const char* field) -> std::optional<std::string> {
    if (!command.is_object() || !command.contains(field) || !command[field].is_string()) return std::nullopt;
    return command[field].get<std::string>();
  };
  const auto outcome = [](const Status& status) {
    return nlohmann::json{{"ok", status.is_ok()}, {"error", status.message()}};
  };
  if (name == "status") return status_json(PluginManager::Detail::kBuilds);
  if (name == "audit") return {{"ok", true}, {"audit", audit()}};
  if (name == "streams") return events->streams();
  if (name == "dead-letters") return events->dead_letters();
  if (name == "backup" && text("to")) {
    const auto manifest = backup(*text("to"));
    return manifest ? nlohmann::json{{"ok", true}, {"result", *manifest}}
                    : nlohmann::json{{"ok", false}, {"error", manifest.status().message()}};
  }
  if (name == "redrive" && text("id")) {
    const auto redriven = events->redrive(*text("id"));
    return {{"ok", redriven.has_value()}, {"error", redriven.status().message()}};
  }
  if (name == "plugin" && text("plugin") && text("name")) {
    const auto args = command.value("args", nlohmann::json::object());
    const auto result = plugins->run_command(*text("plugin"), *text("name"), args);
    return result ? nlohmann::json{{"ok", true}, {"result", *result}}
                  : nlohmann::json{{"ok", false}, {"error", result.status().message()}};
  }
  if (name == "reload" && text("plugin")) return outcome(plugins->reload(*text("plugin")));
  if (name == "stop" && text("plugin")) return outcome(plugins->stop_plugin(*text("plugin")));
  if (name == "start" && text("plugin")) return outcome(plugins->start_plugin(*text("plugin")));
  return {{"ok", false}, {"error", "unknown command"}};
}

nlohmann::json Host::Impl::audit() {
  std::vector<AuditSubject> subjects;
  for (const auto& [name, state] : plugins->states()) {
    subjects.push_back({.plugin = name,
                        .runs = state == PluginState::kRunning,
                        .has_audit = plugins->has_command(name, "audit"),
                        .why = "it is " + std::string(to_string(state))});
  }
  return gather_audit(subjects, [this](const std::string& plugin) {
    return plugins->run_command(plugin, "audit", nlohmann::json::object());
  });
}

// [SECTION] shutdown --------------------------------------------------------------

// Also what a failed start runs (from ~Impl), so it copes with whatever was
// reached: no HTTP server yet, plugins loaded but not created, no bus.
void Host::Impl::shutdown() {
  if (shut_down) return;
  shut_down = true;
  spdlog::info("shutting down: draining requests");
  stopping = true;
  if (parking) parking->stop();  // parked requests are answered 503 (shutting down)
  inflight.wait_idle("", std::chrono::seconds(10));
  if (http) http->stop();
  watcher.reset();
  backups.reset();  // a backup under way finishes: it reads the environments
  control.reset();
  if (plugins) plugins->stop_all();
  if (plugins) plugins->set_bus(nullptr);
  bus.reset();  // it observes the environments: gone before they close
  if (host_env && replica_moved) host_env->remove_observer(replica_moved.get());
  host_env.reset();
  if (plugins) plugins->close_all();
  lock.reset();
  spdlog::info("stopped");
}

}  // namespace ates::server
