#include "control_client.hpp"

#include <iostream>

#include <zmq.hpp>

#include "ates/storage/lock_file.hpp"

#include "audit.hpp"
#include "read_only_host.hpp"

namespace ates::server {

std::optional<nlohmann::json> ask_server(const std::string& data, const nlohmann::json& command) {
  if (!storage::DataDirLock::is_held(data)) {
    std::cerr << "no server is running on " << data << "\n";
    return std::nullopt;
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
    return std::nullopt;
  }
  return nlohmann::json::parse(reply.to_string(), nullptr, false);
}

int control_and_print(const std::string& data, const nlohmann::json& command) {
  const auto answer = ask_server(data, command);
  if (!answer) return 1;
  std::cout << answer->dump(2) << "\n";
  return answer->is_object() && answer->value("ok", true) ? 0 : 1;
}

int audit_command(const std::string& data, const ConfigSources& sources, const std::filesystem::path& exe) {
  nlohmann::json gathered;
  std::string where;
  if (storage::DataDirLock::is_held(data)) {
    const auto answer = ask_server(data, {{"command", "audit"}});
    if (!answer) return 1;
    if (!answer->is_object() || !answer->value("ok", false) || !answer->contains("audit") ||
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
