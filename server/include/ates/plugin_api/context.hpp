// What the host gives a plugin: its storage environment, route registration,
// its config section, the business clock, logging and metrics. Pure virtual,
// so the plugin links nothing of the host.
//
// Thread-safety: every method may be called from any thread of the plugin.
// The host's implementations never throw.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ates/base/clock.hpp"
#include "ates/plugin_api/http.hpp"
#include "ates/storage/environment.hpp"

namespace ates::plugin_api {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Plugins log only through this (they have no logger of their own); the
// host adds the plugin's name, and the request id when one is given.
class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message, std::string_view request_id = {}) = 0;
  void info(std::string_view message) { log(LogLevel::kInfo, message); }
  void warn(std::string_view message) { log(LogLevel::kWarn, message); }
  void error(std::string_view message) { log(LogLevel::kError, message); }
};

// Prometheus-style metrics; the host prefixes names with `ates_` and adds
// the label plugin="<name>".
class Metrics {
 public:
  virtual ~Metrics() = default;
  virtual void add(std::string_view counter, double value = 1) = 0;
  virtual void set(std::string_view gauge, double value) = 0;
};

// The plugin's section of the configuration ([<plugin>] in the file,
// ATES_<PLUGIN>_<KEY> in the environment). Only keys the plugin declared
// exist; the host has checked their values against the declared types.
class Config {
 public:
  virtual ~Config() = default;
  virtual std::string get_string(std::string_view key) const = 0;
  virtual std::int64_t get_int(std::string_view key) const = 0;
  virtual bool get_bool(std::string_view key) const = 0;
};

// Applies one event of a consumed stream inside the plugin's write
// transaction (the bus batches many per transaction). Return
// invalid_argument/not_found/conflict/permission_denied to reject the event
// as a dead letter, with none of its writes; any other error stalls the
// consumer and the batch is retried. A handler may run more than once for
// an event (a rolled-back batch runs again): only its writes through the
// transaction count. Handlers see the latest version of each event (upcast).
using EventHandler = std::function<base::Status(storage::WriteTxn&, const protocol::Envelope&)>;

// A command of the plugin that `ates` sub-commands reach through the
// control socket (or in-process when no server runs): JSON in, JSON out.
using CommandHandler = std::function<base::Result<nlohmann::json>(const nlohmann::json& args)>;

// Answers one request of another plugin (bytes in, bytes out), on the bus's
// rpc thread. An error travels back to the caller as its Status.
using RpcHandler = std::function<base::Result<std::string>(std::string_view request)>;

// Where the plugin's consumer of a stream is (docs/bus.md, "Consumers").
enum class ConsumerState : std::uint8_t {
  kNone,      // no such consumer: not subscribed, not started yet, or no bus
  kStarting,  // catching up from its checkpoint
  kRunning,
  kStalled,  // retrying a batch that failed (a full disk, say)
  kHalted,   // stopped on a gap it cannot close; an operator must act
};

inline std::string_view to_string(ConsumerState state) {
  switch (state) {
    case ConsumerState::kNone:
      return "none";
    case ConsumerState::kStarting:
      return "starting";
    case ConsumerState::kRunning:
      return "running";
    case ConsumerState::kStalled:
      return "stalled";
    case ConsumerState::kHalted:
      return "halted";
  }
  return "unknown";
}

// How far the plugin's consumer of a stream has come (docs/bus.md, watermarks).
struct StreamProgress {
  std::uint64_t applied_seq = 0;
  std::uint64_t head_seq = 0;  // the newest head heard of
  std::int64_t watermark = 0;  // that head's watermark (µs; 0: none heard yet)
  ConsumerState state = ConsumerState::kNone;
};

// How the host runs the plugin.
enum class RunMode : std::uint8_t {
  // `ates serve`: writable storage; start() and stop() are called; routes,
  // consumers, rpc services and commands work.
  kServe,
  // `ates audit` with no server running: the storage is open read-only
  // (every unit answers kUnavailable), no bus, no HTTP. The host creates
  // the plugin, runs the commands its constructor registered, and destroys
  // it; start() and stop() are never called. The constructor must not
  // write: declare_stream() passes only for a stream that exists already.
  //
  // A mode that writes without serving (an offline re-drive of dead
  // letters, say) would be a third value, offered only to plugins built
  // against the minor version that names it.
  kReadOnly,
};

// A dead letter of the plugin's consumer that nobody has re-driven yet.
struct OpenDeadLetter {
  std::string id;
  std::uint64_t seq = 0;
  std::int64_t event_time_us = 0;  // 0: the event could not be read, so its time is unknown
};

class HostContext {
 public:
  virtual ~HostContext() = default;
  virtual std::string_view plugin_name() const = 0;
  // The plugin's own LMDB environment, <data>/<plugin>/, opened by the host.
  virtual storage::Environment& storage() = 0;
  // Adds a route under /api/v1/<plugin>; routes go away when the plugin stops.
  virtual void add_route(Route route) = 0;
  virtual const Config& config() const = 0;
  // The business clock (ates/base/clock.hpp); fake under --fake-clock.
  virtual base::Clock& business_clock() = 0;
  virtual Logger& log() = 0;
  virtual Metrics& metrics() = 0;
  // Consumes `stream` from the bus into the plugin's storage, exactly once.
  // Call in the constructor; consumers run once the plugin has started and
  // stop, at a transaction boundary, before it stops.
  virtual void subscribe(std::string stream, EventHandler handler) = 0;
  // True when no event of `stream` with a time before `time_us` can still
  // arrive: the plugin holds a heartbeat pair with watermark >= time_us and
  // has applied up to its head (docs/bus.md, "complete up to T").
  virtual bool stream_complete_up_to(std::string_view stream, std::int64_t time_us) const = 0;
  virtual StreamProgress stream_progress(std::string_view stream) const = 0;
  // The unresolved dead letters of the plugin's consumer of `stream`.
  // An error when they cannot be read (a caller deciding on them must wait).
  virtual base::Result<std::vector<OpenDeadLetter>> open_dead_letters(std::string_view stream) const = 0;
  // Request and reply with another plugin over the bus (rpc mode's two-phase
  // charge, docs/tracker.md). serve() names a service; it goes away when the
  // plugin stops. call() reaches `peer` ("ENDPOINT SERVER_KEY", the key
  // required on tcp; empty: this host)
  // and gives up after `timeout` with kUnavailable.
  virtual void serve(std::string service, RpcHandler handler) = 0;
  virtual base::Result<std::string> call(const std::string& peer, const std::string& service,
                                         std::string_view request, std::chrono::milliseconds timeout) = 0;
  // Registers a command for the CLI (e.g. auth's "user-add").
  virtual void add_command(std::string name, CommandHandler handler) = 0;
  // Gives the operator a secret once, never through the log (auth's first
  // admin password). When stdout is a terminal, `line` (which holds the
  // secret) is printed there and the answer is empty. Otherwise stdout may
  // be a log file or a pipe, so `secret` is written to <data>/<file_name>
  // instead (mode 0600, created only when absent, never through a symbolic
  // link) and the answer is that file's path, for the plugin to log. An
  // error when the file cannot be made (it exists already, say).
  virtual base::Result<std::string> hand_over_secret(std::string_view file_name, std::string_view secret,
                                                     std::string_view line) = 0;

  // How the host runs this plugin; register the commands that must work
  // in kReadOnly (such as "audit") in the constructor.
  virtual RunMode mode() const = 0;
  // The events of `stream` from `from_seq` on (at most `max`, and at most
  // 4096 per call), read from its producer's outbox and upcast to their
  // latest versions, for a check against what the producer published
  // (accounting's audit of tracker.tasks). Empty past the head.
  // kNotFound for an unknown stream; kUnavailable when the producer's
  // storage is not in this host (split hosts: audit a copy of the data
  // directories together); kInternal naming the sequence of an entry that
  // does not decode or is not stored at its own sequence, or when the
  // storage cannot be read.
  virtual base::Result<std::vector<protocol::Envelope>> read_stream(std::string_view stream,
                                                                    std::uint64_t from_seq,
                                                                    std::size_t max) const = 0;
};

}  // namespace ates::plugin_api
