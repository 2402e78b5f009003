#include "control_client.hpp"

#include <iostream>

#include <zmq.hpp>

#include "ates/storage/lock_file.hpp"

#include "audit.hpp"
#include "read_only_host.hpp"

namespace ates::server {

namespace {

// The answer's "ok", when it is a boolean; a malformed answer is not ok.
bool says_ok(const nlohmann::json& answer, bool absent) {
  if (!answer.is_object()) return false;
  const auto ok = answer.find("ok");
  if (ok == answer.end()) return absent;
  return ok->is_boolean() && ok->get<bool>();
}

}  // namespace

std::optional<nlohmann::json> ask_server(const std::string& data, const nlohmann::json& command,
                                         std::optional<std::chrono::milliseconds> timeout) {
  if (!storage::DataDirLock::is_held(data)) {
    std::cerr << "no server is running on " << data << "\n";
    return std::nullopt;
  }
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::req);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::rcvtimeo, timeout ? static_cast<int>(timeout->count()) : -1);
  socket.connect("ipc://" + (std::filesystem::absolute(data) / "control").string());
  socket.send(zmq::buffer(command.dump()), zmq::send_flags::none);
  zmq::message_t reply;
  if (!socket.recv(reply)) {
    std::cerr << "the server on " << data << " did not answer\n";
    return std::nullopt;
  }
  return nlohmann::json::parse(reply.to_string(), nullptr, false);
}

int control_and_print(const std::string& data, const nlohmann::json& command) {
  const auto answer = ask_server(data, command);
  if (!answer) return 1;
  std::cout << answer->dump(2) << "\n";
  return says_ok(*answer, /*absent=*/true) ? 0 : 1;
}

int audit_command(const std::string& data, const ConfigSources& sources, const std::filesystem::path& exe) {
  nlohmann::json gathered;
  std::string where;
  if (storage::DataDirLock::is_held(data)) {
    const auto answer = ask_server(data, {{"command", "audit"}}, std::nullopt);
    if (!answer) return 1;
    if (!says_ok(*answer, /*absent=*/false) || !answer->contains("audit") ||
        !(*answer)["audit"].is_object()) {
      std::cerr << "ates audit: the server answered " << answer->dump() << "\n";
      return 1;
    }
    gathered = (*answer)["audit"];
    where = "the server running on " + data;
  } else {
    auto host = ReadOnlyHost::open(sources, exe);
    if (!host) {
      std::cerr << "ates audit: " << host.status().message() << "\n";
      return 1;
    }
    gathered = (*host)->audit();
    where = data + " (no server runs: its plugins loaded read-only)";
  }
  return print_audit(gathered, where, std::cout).clean() ? 0 : 1;
}

}  // namespace ates::server
