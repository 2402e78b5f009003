// CurveZMQ: key pairs, the server and client sides of a tcp socket, and
// the ZAP handler (RFC 27) that admits only the keys granted something,
// and names each connection by its key (the User-Id the ROUTER reads).
#include <cstdint>
#include <cstdio>

#include <zmq_addon.hpp>

#include "bus_impl.hpp"

namespace ates::bus {

void Bus::Impl::secure_server(zmq::socket_t& socket, std::string_view endpoint, std::string_view zap_domain,
                              const std::string& secret_key) const {
  if (!is_tcp(endpoint)) return;
  if (!options.curve.enabled()) {
    throw std::runtime_error("tcp endpoint " + std::string(endpoint) +
                             " needs CurveZMQ keys (bus.curve_secret_key; see `ates keys generate`)");
  }
  socket.set(zmq::sockopt::zap_domain, std::string(zap_domain));
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, secret_key);
  socket.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket.set(zmq::sockopt::heartbeat_timeout, 5000);
}

// Client side of an endpoint: Curve with the server's key on tcp.
void secure_client(zmq::socket_t& socket, std::string_view endpoint, const std::string& server_key,
                   const CurveOptions& curve) {
  if (!is_tcp(endpoint)) return;
  if (server_key.empty() || !curve.enabled()) {
    throw std::runtime_error("tcp endpoint " + std::string(endpoint) +
                             " needs its CurveZMQ server key and ours: the bus is never plaintext");
  }
  socket.set(zmq::sockopt::curve_serverkey, server_key);
  socket.set(zmq::sockopt::curve_publickey, curve.public_key);
  socket.set(zmq::sockopt::curve_secretkey, curve.secret_key);
  socket.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket.set(zmq::sockopt::heartbeat_timeout, 5000);
  socket.set(zmq::sockopt::reconnect_ivl, 100);
  socket.set(zmq::sockopt::reconnect_ivl_max, 5000);
}

void limit_messages(zmq::socket_t& socket) {
  // An envelope plus a FETCH reply's or rpc request's few small frames.
  socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(protocol::kMaxEnvelopeBytes + 4096));
}

std::pair<std::string, std::string> generate_curve_keys() {
  char public_key[41] = {};
  char secret_key[41] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0)
    throw std::runtime_error("libzmq was built without CurveZMQ");
  return {public_key, secret_key};
}

std::optional<std::string> curve_public_key(std::string_view secret_key) {
  if (secret_key.size() != 40) return std::nullopt;
  const std::string secret(secret_key);  // NUL-terminated, as libzmq reads it
  char public_key[41] = {};
  if (zmq_curve_public(public_key, secret.c_str()) != 0) return std::nullopt;
  return std::string(public_key);
}

void Bus::Impl::zap_loop(zmq::socket_t& handler) {
  // RFC 27 (ZAP): libzmq asks here for every connection to a Curve server.
  while (!stopping.load()) {
    zmq::pollitem_t item{handler.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    if (!(item.revents & ZMQ_POLLIN)) continue;
    std::vector<zmq::message_t> request;
    if (!zmq::recv_multipart(handler, std::back_inserter(request))) continue;
    // version, request id, domain, address, identity, mechanism, credentials...
    std::string status = "400";
    std::string text = "refused";
    std::string user;
    if (request.size() >= 7 && request[5].to_string_view() == "CURVE" && request[6].size() == 32) {
      char z85[41] = {};
      zmq_z85_encode(z85, static_cast<const std::uint8_t*>(request[6].data()), 32);
      user = z85;
      // A host's own key is always allowed: its consumers read its streams.
      // Our PUB shows every stream it carries, so only a key granted reads
      // may subscribe to it.
      const ClientGrant* grant = grant_of(user);
      const bool may_subscribe = grant != nullptr && !grant->reads.empty();
      const bool for_pub = request[2].to_string_view() == kPubDomain;
      if (user == options.curve.public_key || (for_pub ? may_subscribe : grant != nullptr)) {
        status = "200";
        text = "OK";
      }
    }
    if (status != "200") {
      refuse("a connection from " + (request.size() > 3 ? request[3].to_string() : std::string("?")) +
             " (client key " + (user.empty() ? std::string("none") : user) + ")");
    }
    const std::string version = request.empty() ? "1.0" : request[0].to_string();
    const std::string id = request.size() > 1 ? request[1].to_string() : "";
    handler.send(zmq::buffer(version), zmq::send_flags::sndmore);
    handler.send(zmq::buffer(id), zmq::send_flags::sndmore);
    handler.send(zmq::buffer(status), zmq::send_flags::sndmore);
    handler.send(zmq::buffer(text), zmq::send_flags::sndmore);
    handler.send(zmq::buffer(user), zmq::send_flags::sndmore);
    handler.send(zmq::str_buffer(""), zmq::send_flags::none);
  }
}

}  // namespace ates::bus
