// ates: the command line (README.md, "Commands"). Each sub-command is a thin
// layer over a module; `serve` runs the host until SIGINT or SIGTERM.
// `bench` and `lab` are programs of their own (ates-bench, ates-lab).
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "ates/base/clock.hpp"
#include "ates/bus/bus.hpp"
#include "ates/protocol/envelope.hpp"
#include "ates/protocol/registry.hpp"
#include "ates/storage/lock_file.hpp"

#include "asyncapi.hpp"
#include "backup.hpp"
#include "config.hpp"
#include "control_client.hpp"
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

int serve(const server::ConfigSources& sources) {
  // Block the stop signals in every thread; main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Plugins and the UI are looked for beside the real binary, however it
  // was invoked.
  auto host = server::Host::start(sources, std::filesystem::read_symlink("/proc/self/exe"));
  if (!host) {
    std::cerr << "ates serve: " << host.status().message() << "\n";
    return 1;
  }
  const std::string listen = (*host)->settings().get_string("http.listen");
  const bool tls = !(*host)->settings().get_string("http.tls_cert").empty();
  const std::string url = std::string(tls ? "https://" : "http://") + listen.substr(0, listen.rfind(':')) +
                          ":" + std::to_string((*host)->port());
  std::cout << "ates serve: listening on " << url << std::endl;
  // What a newcomer needs next: where to go, and, while the first admin's
  // one-time password waits in its file, where it is (never what it is).
  std::cout << "ates serve: open " << url << "/ in a browser to sign in" << std::endl;
  const auto password_file =
      std::filesystem::absolute((*host)->settings().get_string("data")) / "initial-admin-password";
  if (std::filesystem::exists(password_file)) {
    std::cout << "ates serve: the first admin is 'admin'; its password is in " << password_file.string()
              << " (read it, change it, delete the file)" << std::endl;
  }
  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("received {}", signal == SIGINT ? "SIGINT" : "SIGTERM");
  (*host)->shutdown();
  return 0;
}

// A list key's value as a flag gives it: "a,b,c".
std::string comma_list(const std::vector<std::string>& items) {
  std::string joined;
  for (const auto& item : items) joined += (joined.empty() ? "" : ",") + item;
  return joined;
}

// Opens a plugin's environment read-only beside (or without) a server.
base::Result<std::unique_ptr<storage::Environment>> open_read_only(const std::string& data,
                                                                   const std::string& plugin) {
  const auto dir = std::filesystem::path(data) / plugin;
  if (!std::filesystem::exists(dir / "data.mdb")) {
    return base::Status(base::Code::kNotFound, "no storage of " + plugin + " in " + data);
  }
  return storage::Environment::open({.dir = dir, .producer = plugin, .read_only = true});
}

// An event as one JSON line: the envelope, and the payload as JSON.
nlohmann::json event_json(const protocol::Envelope& e) {
  nlohmann::json payload;
  try {
    payload = nlohmann::json::from_msgpack(e.payload);
  } catch (const std::exception&) {
    payload = nullptr;
  }
  return {
      {"seq", e.seq},           {"event_id", e.event_id}, {"name", e.name},          {"version", e.version},
      {"producer", e.producer}, {"stream", e.stream},     {"epoch", e.stream_epoch}, {"time_us", e.time_us},
      {"trace_id", e.trace_id}, {"payload", payload}};
}

int tail_events(const std::string& data, const std::string& stream, std::uint64_t from) {
  const auto* spec = protocol::Registry::instance().find_stream(stream);
  if (spec == nullptr) {
    std::cerr << "unknown stream " << stream << "\n";
    return 1;
  }
  auto env = open_read_only(data, std::string(spec->producer));
  if (!env) {
    std::cerr << env.status().message() << "\n";
    return 1;
  }
  storage::ReadTxn txn = (*env)->read();
  for (std::uint64_t seq = std::max<std::uint64_t>(from, 1);;) {
    const auto entries = (*env)->read_outbox(txn, stream, seq, 1000);
    if (entries.empty()) break;
    for (const auto& bytes : entries) {
      auto envelope = protocol::decode_envelope(bytes);
      if (envelope)
        std::cout << event_json(*envelope).dump() << "\n";
      else
        std::cout << nlohmann::json{{"seq", seq}, {"error", envelope.status().message()}}.dump() << "\n";
      ++seq;
    }
  }
  return 0;
}

int list_dead_letters(const std::string& data) {
  if (storage::DataDirLock::is_held(data))
    return server::control_and_print(data, {{"command", "dead-letters"}});
  nlohmann::json list = nlohmann::json::array();
  std::error_code ignored;
  for (const auto& dir : std::filesystem::directory_iterator(data, ignored)) {
    if (!std::filesystem::exists(dir.path() / "data.mdb")) continue;
    auto env = open_read_only(data, dir.path().filename().string());
    if (!env) continue;
    try {
      for (const auto& letter : bus::dead_letters(**env, {})) {
        list.push_back({{"id", letter.id},
                        {"stream", letter.stream},
                        {"seq", letter.seq},
                        {"consumer", letter.consumer},
                        {"reason", letter.reason},
                        {"resolved", letter.resolved}});
      }
    } catch (const std::exception&) {
      // no dead-letter table: this plugin never consumed anything
    }
  }
  std::cout << nlohmann::json{{"dead_letters", list}}.dump(2) << "\n";
  return 0;
}

// `ates backup`: through the running server (it copies with its own
// handles), or, with none, on the environments opened read-only here while
// the data directory's lock keeps a server from starting.
int backup_command(const std::string& data, const std::string& to) {
  const std::filesystem::path dest = std::filesystem::absolute(to);
  if (storage::DataDirLock::is_held(data)) {
    const auto answer =
        server::ask_server(data, {{"command", "backup"}, {"to", dest.string()}}, std::nullopt);
    if (!answer) return 1;
    std::cout << answer->dump(2) << "\n";
    return answer->value("ok", false) ? 0 : 1;
  }
  auto lock = storage::DataDirLock::acquire(data);
  if (!lock) {
    std::cerr << "ates backup: " << lock.status().message() << "\n";
    return 1;
  }
  std::vector<std::unique_ptr<storage::Environment>> envs;
  std::vector<server::BackupSource> sources;
  std::error_code ignored;
  for (const auto& dir : std::filesystem::directory_iterator(data, ignored)) {
    if (!std::filesystem::exists(dir.path() / "data.mdb")) continue;
    const std::string name = dir.path().filename().string();
    auto env = open_read_only(data, name);
    if (!env) {
      std::cerr << "ates backup: " << env.status().message() << "\n";
      return 1;
    }
    sources.push_back({name, env->get()});
    envs.push_back(std::move(env).value());
  }
  const auto manifest = server::write_backup(sources, data, dest, base::SystemClock().now_us());
  if (!manifest) {
    std::cerr << "ates backup: " << manifest.status().message() << "\n";
    return 1;
  }
  std::cout << nlohmann::json{{"ok", true}, {"result", *manifest}}.dump(2) << "\n";
  return 0;
}

int verify_backup_command(const std::string& backup) {
  const nlohmann::json report = server::verify_backup(backup);
  std::cout << report.dump(2) << "\n";
  return report["ok"].get<bool>() ? 0 : 1;
}

int restore_command(const std::string& from, const std::string& data) {
  if (const base::Status s = server::restore_backup(from, data); !s) {
    std::cerr << "ates restore: " << s.message() << "\n";
    return 1;
  }
  std::cout << nlohmann::json{{"ok", true}, {"restored", std::filesystem::absolute(data).string()}}.dump(2)
            << "\n";
  return 0;
}

// The terminal's settings while a password is typed with echo off, so a
// signal that ends the command gives the terminal its echo back.
termios saved_terminal{};

void restore_terminal_and_die(int signal) {
  ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);  // async-signal-safe
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

// The password for `ates user add`, one line of stdin. From a terminal it
// is prompted for on stderr (stdout carries the JSON answer) with echo
// off, so it is neither shown nor left on the screen; piped in by a
// script, it is read as it comes.
base::Result<std::string> read_password() {
  std::string password;
  if (::isatty(STDIN_FILENO) != 1) {
    std::getline(std::cin, password);
  } else {
    if (::tcgetattr(STDIN_FILENO, &saved_terminal) != 0) {
      return base::Status(base::Code::kInternal, std::string("cannot read the terminal's settings: ") +
                                                     std::strerror(errno) + "; pipe the password in");
    }
    termios hidden = saved_terminal;
    hidden.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::signal(SIGINT, restore_terminal_and_die);
    ::signal(SIGTERM, restore_terminal_and_die);
    ::signal(SIGHUP, restore_terminal_and_die);
    // Echo off before the prompt: nothing typed after it is ever echoed.
    if (::tcsetattr(STDIN_FILENO, TCSAFLUSH, &hidden) != 0) {
      for (int signal : {SIGINT, SIGTERM, SIGHUP}) ::signal(signal, SIG_DFL);
      return base::Status(base::Code::kInternal, std::string("cannot turn the terminal's echo off: ") +
                                                     std::strerror(errno) + "; pipe the password in");
    }
    std::cerr << "password: " << std::flush;
    std::getline(std::cin, password);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) ::signal(signal, SIG_DFL);
    std::cerr << "\n";
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

// Runs `work` on a host started for the length of one command, when no
// server holds the data: for the commands that need a plugin's code and
// not only its tables. `plugins` are the ones loaded; `config_file` (may
// be empty) is the one `ates serve` reads, so a plugin finds the settings
// its data was made with.
int with_offline_host(const std::string& what, const std::string& data, const std::string& config_file,
                      const std::string& plugins,
                      const std::function<base::Result<nlohmann::json>(server::Host&)>& work) {
  server::ConfigSources sources;
  if (!config_file.empty()) sources.file = config_file;
  sources.environment = ates_environment();
  sources.flags = {{"data", data}, {"plugins", plugins}, {"http.listen", "127.0.0.1:0"}};
  auto host = server::Host::start(sources, std::filesystem::read_symlink("/proc/self/exe"));
  if (!host) {
    std::cerr << "ates " << what << ": " << host.status().message() << "\n";
    return 1;
  }
  const auto result = work(**host);
  (*host)->shutdown();
  if (!result) {
    std::cerr << "ates " << what << ": " << result.status().message() << "\n";
    return 1;
  }
  std::cout << nlohmann::json{{"ok", true}, {"result", *result}}.dump(2) << "\n";
  return 0;
}

// A command of the auth plugin (`ates user add`, `ates signing-key
// rotate`): through the running server's control socket, or, when none
// runs, by starting the auth plugin alone in this process.
int auth_command(const std::string& what, const std::string& data, const std::string& name,
                 const nlohmann::json& args) {
  if (storage::DataDirLock::is_held(data)) {
    return server::control_and_print(
        data, {{"command", "plugin"}, {"plugin", "auth"}, {"name", name}, {"args", args}});
  }
  return with_offline_host(what, data, {}, "auth",
                           [&](server::Host& host) { return host.run_command("auth", name, args); });
}

// A dead letter is re-driven through its consumer's handler, which lives
// in the consumer's plugin: with no server running, a host of that plugin
// alone starts, re-drives it exactly as a running server does (applied and
// marked resolved in one unit), and stops. The host's own consumer ("host")
// needs no plugin but auth's stream's owner.
int redrive_dead_letter(const std::string& data, const std::string& config_file, const std::string& id) {
  if (storage::DataDirLock::is_held(data))
    return server::control_and_print(data, {{"command", "redrive"}, {"id", id}});
  // The consumer names the plugin to load: checked before it reaches the loader.
  const auto dash = id.rfind('-');
  const auto plugin_name = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (dash == std::string::npos || dash == 0 || dash + 1 == id.size() ||
      !std::all_of(id.begin(), id.begin() + static_cast<std::ptrdiff_t>(dash), plugin_name) ||
      !std::all_of(id.begin() + static_cast<std::ptrdiff_t>(dash) + 1, id.end(), digit)) {
    std::cerr << "ates dead-letters redrive: a dead letter id is <consumer>-<number>, e.g. accounting-3\n";
    return 1;
  }
  const std::string consumer = id.substr(0, dash);
  return with_offline_host("dead-letters redrive", data, config_file, consumer == "host" ? "auth" : consumer,
                           [&](server::Host& host) { return host.redrive(id); });
}

int add_user(const std::string& data, nlohmann::json args) {
  auto password = read_password();
  if (!password) {
    std::cerr << "ates user add: " << password.status().message() << "\n";
    return 1;
  }
  args["password"] = *password;
  return auth_command("user add", data, "user-add", args);
}

// `ates bench …` and `ates lab …` run ates-bench and ates-lab, found beside
// this binary, with the rest of the arguments, the way `git foo` runs
// git-foo: the server binary links no benchmark, demonstration or test
// fixture. Returns only when the program cannot be run.
int run_sibling(const std::string& command, int argc, char** argv) {
  const std::string program = "ates-" + command;
  std::error_code no_proc;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", no_proc);
  const auto path = (no_proc ? std::filesystem::path(argv[0]) : self).parent_path() / program;
  std::vector<char*> args;
  args.push_back(const_cast<char*>(program.c_str()));
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  ::execv(path.c_str(), args.data());
  const int error = errno;
  std::cerr << "ates " << command << ": cannot run " << path.string() << ": " << std::strerror(error) << "\n";
  return error == ENOENT ? 127 : 126;  // as a shell answers: not found, or found but not runnable
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && (std::string_view(argv[1]) == "bench" || std::string_view(argv[1]) == "lab")) {
    return run_sibling(argv[1], argc, argv);
  }
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
  std::vector<std::string> plugin_dirs;
  bool dev = false;
  serve_cmd->add_option("--config", config_file, "TOML configuration file");
  serve_cmd->add_option("--data", data, "data directory (default ./ates-data)");
  serve_cmd->add_option("--listen", listen,
                        "HTTP address HOST:PORT (default 127.0.0.1:8080; port 0 picks one)");
  serve_cmd->add_option("--plugins", plugins, "plugins to load, comma-separated (default: all found)");
  serve_cmd->add_option("--plugin-dir", plugin_dirs,
                        "look for plugins here instead of beside the binary; repeat for more folders");
  serve_cmd->add_flag("--dev", dev, "reload a plugin when its file changes");
  serve_cmd->add_option("--fake-clock", fake_clock,
                        "start the business clock at this UTC time, e.g. 2026-03-03T09:00:00Z");
  serve_cmd->callback([&] {
    server::ConfigSources sources;
    if (!config_file.empty()) sources.file = config_file;
    sources.environment = ates_environment();
    if (!data.empty()) sources.flags["data"] = data;
    if (!listen.empty()) sources.flags["http.listen"] = listen;
    if (!plugins.empty()) sources.flags["plugins"] = plugins;
    if (!plugin_dirs.empty()) {
      sources.flags["plugin_dir"] = comma_list(plugin_dirs);
    }
    if (dev) sources.flags["dev"] = "true";
    if (!fake_clock.empty()) sources.flags["fake_clock"] = fake_clock;
    exit_code = serve(sources);
  });

  // status, plugin reload|stop|start
  std::string control_data = "./ates-data";
  CLI::App* status_cmd = app.add_subcommand("status", "ask a running server how it is");
  status_cmd->add_option("--data", control_data, "its data directory");
  status_cmd->callback([&] { exit_code = server::control_and_print(control_data, {{"command", "status"}}); });
  CLI::App* plugin_cmd = app.add_subcommand("plugin", "manage the plugins of a running server");
  plugin_cmd->require_subcommand(1);
  std::string reload_name;
  CLI::App* reload_cmd =
      plugin_cmd->add_subcommand("reload", "reload a plugin from its file, losing nothing");
  reload_cmd->add_option("NAME", reload_name, "the plugin")->required();
  reload_cmd->add_option("--data", control_data, "the server's data directory");
  reload_cmd->callback([&] {
    exit_code = server::control_and_print(control_data, {{"command", "reload"}, {"plugin", reload_name}});
  });
  // A stopped plugin's routes answer 503 with Retry-After until it is
  // started again; its storage and its place in the streams are kept.
  std::string stop_name, start_name;
  CLI::App* stop_cmd =
      plugin_cmd->add_subcommand("stop", "stop a plugin until started again; its routes answer 503");
  stop_cmd->add_option("NAME", stop_name, "the plugin")->required();
  stop_cmd->add_option("--data", control_data, "the server's data directory");
  stop_cmd->callback([&] {
    exit_code = server::control_and_print(control_data, {{"command", "stop"}, {"plugin", stop_name}});
  });
  CLI::App* start_cmd = plugin_cmd->add_subcommand("start", "start a plugin stopped by `ates plugin stop`");
  start_cmd->add_option("NAME", start_name, "the plugin")->required();
  start_cmd->add_option("--data", control_data, "the server's data directory");
  start_cmd->callback([&] {
    exit_code = server::control_and_print(control_data, {{"command", "start"}, {"plugin", start_name}});
  });

  // users
  CLI::App* user = app.add_subcommand("user", "manage users");
  user->require_subcommand(1);
  std::string user_data = "./ates-data", username, role, email;
  CLI::App* user_add = user->add_subcommand(
      "add", "add a user; the password is read from stdin (prompted for, unechoed, on a terminal)");
  user_add->add_option("--data", user_data, "the data directory");
  user_add->add_option("--username", username, "3 to 32 of a-z, 0-9, '_', '.', '-'")->required();
  user_add->add_option("--role", role, "admin, manager, accountant or worker")->required();
  user_add->add_option("--email", email, "where receipts go");
  user_add->callback([&] {
    nlohmann::json args = {{"username", username}, {"role", role}};
    if (!email.empty()) args["email"] = email;
    exit_code = add_user(user_data, args);
  });

  // signing keys (not `keys`: those are the bus's CurveZMQ keys)
  CLI::App* signing_key = app.add_subcommand("signing-key", "the keys that sign tokens");
  signing_key->require_subcommand(1);
  std::string rotate_data = "./ates-data";
  std::int64_t overlap_s = 0;
  CLI::App* rotate_cmd = signing_key->add_subcommand(
      "rotate", "sign new tokens with a new key; the old one verifies during the overlap, then retires");
  rotate_cmd->add_option("--data", rotate_data, "the data directory");
  rotate_cmd
      ->add_option(
          "--overlap-s", overlap_s,
          "seconds the old key still verifies (default auth.signing_key_overlap_s; 0: retire it now)")
      ->check(CLI::NonNegativeNumber);
  rotate_cmd->callback([&] {
    nlohmann::json args = nlohmann::json::object();
    if (rotate_cmd->count("--overlap-s") > 0) args["overlap_s"] = overlap_s;
    exit_code = auth_command("signing-key rotate", rotate_data, "signing-key-rotate", args);
  });

  // dead letters
  CLI::App* letters = app.add_subcommand("dead-letters", "events a consumer could not apply");
  letters->require_subcommand(1);
  std::string letters_data = "./ates-data";
  CLI::App* list_cmd = letters->add_subcommand("list", "every dead letter, with its reason");
  list_cmd->add_option("--data", letters_data, "the data directory");
  list_cmd->callback([&] { exit_code = list_dead_letters(letters_data); });
  std::string letter_id;
  std::string letters_config;
  CLI::App* redrive_cmd = letters->add_subcommand(
      "redrive", "apply a dead letter again, once (through the running server, or a host started for it)");
  redrive_cmd->add_option("ID", letter_id, "the dead letter, e.g. accounting-3")->required();
  redrive_cmd->add_option("--data", letters_data, "the data directory");
  redrive_cmd->add_option("--config", letters_config,
                          "with no server running: the TOML configuration `ates serve` uses");
  redrive_cmd->callback([&] { exit_code = redrive_dead_letter(letters_data, letters_config, letter_id); });

  // keys
  CLI::App* keys = app.add_subcommand("keys", "CurveZMQ keys for tcp endpoints");
  keys->require_subcommand(1);
  keys->add_subcommand("generate", "print a new key pair (Z85) as TOML for [bus]")->callback([] {
    const auto [public_key, secret_key] = bus::generate_curve_keys();
    std::cout << "curve_public_key = \"" << public_key << "\"\ncurve_secret_key = \"" << secret_key << "\"\n";
  });

  // config keys
  CLI::App* config_cmd = app.add_subcommand("config", "the configuration");
  config_cmd->require_subcommand(1);
  config_cmd->add_subcommand("keys", "print every key of the host as a Markdown table")->callback([] {
    std::cout << server::keys_table(server::host_keys());
  });

  // backup and restore
  CLI::App* backup_cmd =
      app.add_subcommand("backup", "copy the data directory, consistently, while the server runs or not");
  std::string backup_data = "./ates-data", backup_to, verify_dir, restore_from, restore_data;
  backup_cmd->add_option("--data", backup_data, "the data directory");
  backup_cmd->add_option("--to", backup_to, "where the backup goes: a new path");
  backup_cmd->require_subcommand(0, 1);
  CLI::App* verify_cmd = backup_cmd->add_subcommand("verify", "check a backup: checksums and consistency");
  verify_cmd->add_option("DEST", verify_dir, "the backup")->required();
  verify_cmd->callback([&] { exit_code = verify_backup_command(verify_dir); });
  backup_cmd->callback([&] {
    if (verify_cmd->parsed()) return;
    if (backup_to.empty()) {
      std::cerr << "ates backup: --to DEST is required\n";
      exit_code = 1;
      return;
    }
    exit_code = backup_command(backup_data, backup_to);
  });
  CLI::App* restore_cmd =
      app.add_subcommand("restore", "put a backup in place as a new data directory (no server on it)");
  restore_cmd->add_option("--from", restore_from, "the backup")->required();
  restore_cmd->add_option("--data", restore_data, "the data directory to create: absent or empty")
      ->required();
  restore_cmd->callback([&] { exit_code = restore_command(restore_from, restore_data); });

  // events
  // audit
  std::string audit_data = "./ates-data";
  CLI::App* audit_cmd =
      app.add_subcommand("audit", "reconcile the money across the plugins' data (exit 1 on a mismatch)");
  std::vector<std::string> audit_plugin_dirs;
  std::string audit_config;
  audit_cmd->add_option("--data", audit_data, "data directory");
  audit_cmd->add_option("--config", audit_config,
                        "with no server running: the TOML configuration the server runs with");
  audit_cmd->add_option(
      "--plugin-dir", audit_plugin_dirs,
      "with no server running: a folder of plugin files (repeatable; default: the built-in plugins)");
  audit_cmd->callback([&] {
    server::ConfigSources sources;
    if (!audit_config.empty()) sources.file = audit_config;
    sources.environment = ates_environment();
    sources.flags = {{"data", audit_data}};
    if (!audit_plugin_dirs.empty()) sources.flags["plugin_dir"] = comma_list(audit_plugin_dirs);
    exit_code = server::audit_command(audit_data, sources, std::filesystem::read_symlink("/proc/self/exe"));
  });

  CLI::App* events = app.add_subcommand("events", "inspect the event streams");
  events->require_subcommand(1);
  std::string catalog_format = "markdown";
  CLI::App* catalog_cmd =
      events->add_subcommand("catalog", "print every stream and event version of the registry");
  catalog_cmd
      ->add_option("--format", catalog_format, "markdown (docs/events.md) or asyncapi (docs/asyncapi.json)")
      ->check(CLI::IsMember({"markdown", "asyncapi"}));
  catalog_cmd->callback([&] {
    if (catalog_format == "asyncapi") {
      std::cout << server::asyncapi_document().dump(2) << "\n";
    } else {
      std::cout << protocol::Registry::instance().catalog();
    }
  });
  std::string schema_name;
  std::uint32_t schema_version = 0;
  CLI::App* schema_cmd =
      events->add_subcommand("schema", "print the JSON Schema of one event version's payload");
  schema_cmd->add_option("NAME", schema_name, "e.g. TaskCreated")->required();
  schema_cmd->add_option("VERSION", schema_version, "e.g. 2")->required();
  schema_cmd->callback([&] {
    const auto* event = protocol::Registry::instance().find(schema_name, schema_version);
    if (event == nullptr) {
      std::cerr << "no event " << schema_name << " v" << schema_version
                << " in the registry (ates events catalog)\n";
      exit_code = 1;
      return;
    }
    std::cout << server::payload_schema(*event).dump(2) << "\n";
  });
  std::string events_data = "./ates-data";
  std::string tail_stream;
  std::uint64_t tail_from = 1;
  CLI::App* tail_cmd = events->add_subcommand("tail", "print a stream's events as JSON lines (read-only)");
  tail_cmd->add_option("STREAM", tail_stream, "e.g. tracker.tasks")->required();
  tail_cmd->add_option("--from", tail_from, "first sequence number");
  tail_cmd->add_option("--data", events_data, "the data directory");
  tail_cmd->callback([&] { exit_code = tail_events(events_data, tail_stream, tail_from); });
  CLI::App* streams_cmd =
      events->add_subcommand("streams", "streams, heads and consumers of the running server");
  streams_cmd->add_option("--data", events_data, "the data directory");
  streams_cmd->callback([&] {
    exit_code = server::control_and_print(events_data, {{"command", "streams"}});
  });
  std::string reset_plugin, reset_stream;
  std::uint64_t reset_to = 0;
  CLI::App* reset_cmd = events->add_subcommand(
      "reset-consumer", "let a halted consumer adopt its producer's new epoch (the server must be stopped)");
  reset_cmd->add_option("PLUGIN", reset_plugin, "the consuming plugin")->required();
  reset_cmd->add_option("STREAM", reset_stream, "the stream")->required();
  reset_cmd->add_option("--to", reset_to,
                        "treat the new log as applied up to this sequence (default 0: all of it)");
  reset_cmd->add_option("--data", events_data, "the data directory");
  reset_cmd->callback([&] {
    auto lock = storage::DataDirLock::acquire(events_data);
    if (!lock) {
      std::cerr << lock.status().message() << "\n";
      exit_code = 1;
      return;
    }
    auto env = storage::Environment::open(
        {.dir = std::filesystem::path(events_data) / reset_plugin, .producer = reset_plugin});
    const base::Status status = env ? bus::reset_consumer(**env, reset_stream, reset_to) : env.status();
    if (!status) {
      std::cerr << status.message() << "\n";
      exit_code = 1;
      return;
    }
    std::cout << reset_plugin << " will apply " << reset_stream << " from sequence " << reset_to + 1
              << " of whatever epoch it meets next\n";
  });

  // bench, lab: programs of their own beside this one (run_sibling above);
  // listed here for --help.
  app.add_subcommand("bench", "run a benchmark; prints figures and ratios (ates-bench)");
  app.add_subcommand("lab", "demonstrations of the asynchronous trade-offs, docs/lab.md (ates-lab)");

  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
