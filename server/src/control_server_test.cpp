#include "control_server.hpp"

#include <fstream>

#include <boost/test/unit_test.hpp>
#include <sys/stat.h>

#include "ates/testing/temp_dir.hpp"

namespace ates::server {
namespace {

// One request on a fresh REQ socket, as `ates status` sends it.
nlohmann::json ask(const std::filesystem::path& path, const std::string& text) {
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::req);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::rcvtimeo, 10000);
  socket.connect("ipc://" + path.string());
  socket.send(zmq::buffer(text), zmq::send_flags::none);
  zmq::message_t reply;
  if (!socket.recv(reply)) return nullptr;
  return nlohmann::json::parse(reply.to_string());
}

BOOST_AUTO_TEST_SUITE(control_server)

BOOST_AUTO_TEST_CASE(each_command_gets_the_handlers_reply_on_an_owner_only_socket) {
  testing::TempDir dir;
  const auto path = dir / "control";
  auto server = ControlServer::start(path, [](const nlohmann::json& command) -> nlohmann::json {
    if (command.is_object() && command.value("command", "") == "status") return {{"status", "ready"}};
    return {{"ok", false}, {"error", "unknown command"}};
  });
  BOOST_TEST_REQUIRE(server.has_value(), server.status().to_string());
  struct stat info {};
  BOOST_TEST_REQUIRE(::stat(path.c_str(), &info) == 0);
  BOOST_TEST((info.st_mode & 0777) == 0600u);
  BOOST_TEST(ask(path, R"({"command":"status"})")["status"] == "ready");
  BOOST_TEST(ask(path, R"({"command":"explode"})")["error"] == "unknown command");
  BOOST_TEST(ask(path, "not json at all {")["error"] == "unknown command");  // a discarded value, not a crash
}

BOOST_AUTO_TEST_CASE(a_handler_that_throws_or_returns_bad_utf8_still_answers) {
  testing::TempDir dir;
  const auto path = dir / "control";
  auto server = ControlServer::start(path, [](const nlohmann::json& command) -> nlohmann::json {
    if (command.value("command", "") == "throw") throw std::runtime_error("boom");
    return {{"text", std::string("caf\xC3", 4)}};  // a truncated UTF-8 sequence
  });
  BOOST_TEST_REQUIRE(server.has_value());
  const auto thrown = ask(path, R"({"command":"throw"})");
  BOOST_TEST(thrown["ok"] == false);
  BOOST_TEST(thrown["error"].get<std::string>().find("boom") != std::string::npos);
  BOOST_TEST(ask(path, R"({"command":"text"})")["text"].is_string());
  BOOST_TEST(ask(path, R"({"command":"throw"})")["ok"] == false);  // it still serves
}

BOOST_AUTO_TEST_CASE(a_stale_socket_file_is_replaced_and_an_impossible_path_is_an_error) {
  testing::TempDir dir;
  const auto path = dir / "control";
  { std::ofstream(path) << "left by a crashed server"; }
  auto server = ControlServer::start(path, [](const nlohmann::json&) {
    return nlohmann::json{{"ok", true}};
  });
  BOOST_TEST_REQUIRE(server.has_value(), server.status().to_string());
  BOOST_TEST(ask(path, "{}")["ok"] == true);
  auto nowhere = ControlServer::start(dir / "no-such-folder" / "control",
                                      [](const nlohmann::json&) { return nlohmann::json::object(); });
  BOOST_TEST(!nowhere.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
