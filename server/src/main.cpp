// ates: the command line (DESIGN §9). Each sub-command is a thin layer over
// a module; `serve` runs the host until SIGINT or SIGTERM.
#include <signal.h>

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "ates/bench/storage_bench.hpp"
#include "ates/protocol/registry.hpp"
#include "ates/storage/lock_file.hpp"
#include "config.hpp"
#include "host.hpp"

extern char** environ;

namespace {

using namespace ates;

std::map<std::string, std::string> ates_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (entry.starts_with("ATES_") && eq != std::string_view::npos) {
      out.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
  }
  return out;
}

int serve(server::ConfigSources sources, const char* argv0) {
  // Block the stop signals in every thread; main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto host = server::Host::start(sources, argv0);
  if (!host) {
    std::cerr << "ates serve: " << host.status().message() << "\n";
    return 1;
  }
  const std::string listen = (*host)->settings().get_string("http.listen");
  std::cout << "ates serve: listening on http://" << listen.substr(0, listen.rfind(':')) << ":" << (*host)->port()
            << std::endl;
  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("received {}", signal == SIGINT ? "SIGINT" : "SIGTERM");
  (*host)->shutdown();
  return 0;
}

// Sends one command to a running server's control socket and prints the reply.
int control(const std::string& data, const nlohmann::json& command) {
  if (!storage::DataDirLock::is_held(data)) {
    std::cerr << "no server is running on " << data << "\n";
    return 1;
  }
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::req);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::rcvtimeo, 60000);
  socket.connect("ipc://" + (std::filesystem::absolute(data) / "control").string());
  socket.send(zmq::buffer(command.dump()), zmq::send_flags::none);
  zmq::message_t reply;
  if (!socket.recv(reply)) {
    std::cerr << "the server on " << data << " did not answer\n";
    return 1;
  }
  const auto answer = nlohmann::json::parse(reply.to_string(), nullptr, false);
  std::cout << answer.dump(2) << "\n";
  return answer.is_object() && answer.value("ok", true) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Logs go to stderr: stdout carries what a command prints (the listening
  // line, JSON, tables), so scripts can read it.
  spdlog::set_default_logger(spdlog::stderr_color_mt("ates"));
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  CLI::App app{"ates: the Awesome Task Exchange System of UberPopug Inc"};
  app.require_subcommand(1);
  int exit_code = 0;

  // serve
  CLI::App* serve_cmd = app.add_subcommand("serve", "run the host with its plugins");
  std::string config_file, data, listen, plugins, fake_clock;
  bool dev = false;
  serve_cmd->add_option("--config", config_file, "TOML configuration file");
  serve_cmd->add_option("--data", data, "data directory (default ./ates-data)");
  serve_cmd->add_option("--listen", listen, "HTTP address HOST:PORT (default 127.0.0.1:8080; port 0 picks one)");
  serve_cmd->add_option("--plugins", plugins, "plugins to load, comma-separated (default: all found)");
  serve_cmd->add_flag("--dev", dev, "reload a plugin when its file changes");
  serve_cmd->add_option("--fake-clock", fake_clock, "start the business clock at this UTC time, e.g. 2026-03-03T09:00:00Z");
  serve_cmd->callback([&] {
    server::ConfigSources sources;
    if (!config_file.empty()) sources.file = config_file;
    sources.environment = ates_environment();
    if (!data.empty()) sources.flags["data"] = data;
    if (!listen.empty()) sources.flags["http.listen"] = listen;
    if (!plugins.empty()) sources.flags["plugins"] = plugins;
    if (dev) sources.flags["dev"] = "true";
    if (!fake_clock.empty()) sources.flags["fake_clock"] = fake_clock;
    exit_code = serve(std::move(sources), argv[0]);
  });

  // status, plugin reload
  std::string control_data = "./ates-data";
  CLI::App* status_cmd = app.add_subcommand("status", "ask a running server how it is");
  status_cmd->add_option("--data", control_data, "its data directory");
  status_cmd->callback([&] { exit_code = control(control_data, {{"command", "status"}}); });
  CLI::App* plugin_cmd = app.add_subcommand("plugin", "manage the plugins of a running server");
  plugin_cmd->require_subcommand(1);
  std::string reload_name;
  CLI::App* reload_cmd = plugin_cmd->add_subcommand("reload", "reload a plugin from its file, losing nothing");
  reload_cmd->add_option("NAME", reload_name, "the plugin")->required();
  reload_cmd->add_option("--data", control_data, "the server's data directory");
  reload_cmd->callback([&] { exit_code = control(control_data, {{"command", "reload"}, {"plugin", reload_name}}); });

  // config keys
  CLI::App* config_cmd = app.add_subcommand("config", "the configuration");
  config_cmd->require_subcommand(1);
  config_cmd->add_subcommand("keys", "print every key of the host as a Markdown table")->callback([] {
    std::cout << server::keys_table(server::host_keys());
  });

  // events
  CLI::App* events = app.add_subcommand("events", "inspect the event streams");
  events->require_subcommand(1);
  events->add_subcommand("catalog", "print every stream and event version of the registry (Markdown)")->callback([] {
    std::cout << protocol::Registry::instance().catalog();
  });

  // bench
  CLI::App* bench = app.add_subcommand("bench", "run a benchmark; prints figures and ratios");
  bench->require_subcommand(1);
  bench::StorageBenchOptions storage_options;
  CLI::App* storage_bench = bench->add_subcommand("storage", "durable units/s: one commit per unit, group commit, raw LMDB");
  storage_bench->add_flag("--full", storage_options.full, "run longer for steadier figures");
  storage_bench->add_option("--dir", storage_options.dir, "where to put the environments (default: a temp dir)");
  storage_bench->callback([&] { bench::run_storage_bench(storage_options, std::cout); });

  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
