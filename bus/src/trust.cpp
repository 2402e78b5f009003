// Trust between hosts (docs/bus.md, "Trust between hosts"): the peers and
// client grants of the configuration, what each key may do, and the count
// of what was dropped because it may not.
#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

#include "bus_impl.hpp"

namespace ates::bus {

namespace {

// "name=value" tokens separated by spaces; a name given twice, a token
// without '=' or a name not in `known` is an error.
Result<std::map<std::string, std::string, std::less<>>> parse_fields(
    std::string_view text, std::initializer_list<std::string_view> known, std::string_view what) {
  std::map<std::string, std::string, std::less<>> fields;
  std::size_t at = 0;
  while (at < text.size()) {
    if (text[at] == ' ') {
      ++at;
      continue;
    }
    const std::size_t end = std::min(text.find(' ', at), text.size());
    const std::string_view token = text.substr(at, end - at);
    at = end;
    const std::size_t equals = token.find('=');
    if (equals == std::string_view::npos) {
      return base::invalid_argument(std::string(what) + " \"" + std::string(text) + "\": \"" +
                                    std::string(token) + "\" is not name=value");
    }
    const std::string_view name = token.substr(0, equals);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return base::invalid_argument(std::string(what) + " \"" + std::string(text) + "\": unknown field \"" +
                                    std::string(name) + "\"");
    }
    if (!fields.emplace(std::string(name), std::string(token.substr(equals + 1))).second) {
      return base::invalid_argument(std::string(what) + " \"" + std::string(text) + "\": \"" +
                                    std::string(name) + "\" given twice");
    }
  }
  return fields;
}

// "a+b+c": '+', not ',', because the configuration's lists (bus.peers,
// bus.clients) are themselves comma-separated in an environment variable.
std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  std::size_t at = 0;
  while (at <= text.size() && !text.empty()) {
    const std::size_t end = std::min(text.find('+', at), text.size());
    if (end > at) items.emplace_back(text.substr(at, end - at));
    at = end + 1;
  }
  return items;
}

bool is_curve_key(std::string_view key) {
  std::uint8_t decoded[32];
  return key.size() == 40 && zmq_z85_decode(decoded, std::string(key).c_str()) != nullptr;
}

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

}  // namespace

Result<ClientGrant> parse_grant(std::string_view text) {
  auto fields = parse_fields(text, {"key", "reads", "calls"}, "bus client");
  if (!fields) return fields.status();
  ClientGrant grant;
  if (auto it = fields->find("key"); it != fields->end()) grant.key = it->second;
  if (!is_curve_key(grant.key)) {
    return base::invalid_argument("bus client \"" + std::string(text) +
                                  "\": key= must be a CurveZMQ public key (Z85, 40 characters)");
  }
  if (auto it = fields->find("reads"); it != fields->end()) grant.reads = split_list(it->second);
  if (auto it = fields->find("calls"); it != fields->end()) grant.calls = split_list(it->second);
  return grant;
}

Result<Peer> parse_peer(std::string_view text) {
  auto fields = parse_fields(text, {"publish", "replay", "key", "owns"}, "bus peer");
  if (!fields) return fields.status();
  Peer peer;
  const auto field = [&](std::string_view name) {
    const auto it = fields->find(name);
    return it == fields->end() ? std::string() : it->second;
  };
  peer.publish = field("publish");
  peer.replay = field("replay");
  peer.key = field("key");
  peer.streams = split_list(field("owns"));
  if (peer.publish.empty() || peer.replay.empty() || peer.streams.empty()) {
    return base::invalid_argument("bus peer \"" + std::string(text) +
                                  "\": needs publish=, replay= and owns= (the streams taken from it)");
  }
  if (!peer.key.empty() && !is_curve_key(peer.key)) {
    return base::invalid_argument("bus peer \"" + std::string(text) +
                                  "\": key= must be a CurveZMQ public key (Z85, 40 characters)");
  }
  return peer;
}

namespace {

// A rotation names the new key and both of its endpoints, or none of them.
Status validate_rotation(const BusOptions& options) {
  const bool any =
      !options.curve.next_secret_key.empty() || !options.next_publish.empty() || !options.next_replay.empty();
  if (!any) return Status::ok();
  if (options.curve.next_secret_key.empty() || options.next_publish.empty() || options.next_replay.empty()) {
    return base::invalid_argument(
        "a key rotation needs bus.curve_next_secret_key, bus.next_publish and bus.next_replay together");
  }
  if (!is_tcp(options.next_publish) || !is_tcp(options.next_replay)) {
    return base::invalid_argument(
        "bus.next_publish and bus.next_replay must be tcp:// endpoints: a key "
        "matters only between hosts");
  }
  if (!options.curve.enabled()) {
    return base::invalid_argument("a key rotation needs this host's current keys as well");
  }
  const auto next_public = curve_public_key(options.curve.next_secret_key);
  if (!next_public) {
    return base::invalid_argument(
        "bus.curve_next_secret_key is not a CurveZMQ secret key (Z85, 40 characters)");
  }
  if (*next_public == options.curve.public_key) {
    return base::invalid_argument("bus.curve_next_secret_key is the current key: a rotation needs a new one");
  }
  return Status::ok();
}

}  // namespace

Status validate(const BusOptions& options) {
  const bool any_tcp = is_tcp(options.publish) || is_tcp(options.replay) ||
                       std::any_of(options.peers.begin(), options.peers.end(),
                                   [](const Peer& p) { return is_tcp(p.publish) || is_tcp(p.replay); });
  if (any_tcp && (!is_curve_key(options.curve.public_key) || options.curve.secret_key.size() != 40)) {
    return base::invalid_argument(
        "a tcp bus needs this host's CurveZMQ keys (bus.curve_public_key, bus.curve_secret_key; "
        "`ates keys generate`): the bus is never plaintext");
  }
  if (options.curve.enabled() && curve_public_key(options.curve.secret_key) != options.curve.public_key) {
    return base::invalid_argument(
        "bus.curve_public_key is not the public half of bus.curve_secret_key: peers would refuse this host");
  }
  if (Status rotation = validate_rotation(options); !rotation) return rotation;
  std::set<std::string, std::less<>> owned;
  for (const Peer& peer : options.peers) {
    if (peer.key.empty() && (!peer.publish.starts_with("ipc://") || !peer.replay.starts_with("ipc://"))) {
      return base::invalid_argument("bus peer " + peer.publish +
                                    " has no key=: only a peer on this machine (ipc://) may go without one");
    }
    for (const std::string& stream : peer.streams) {
      if (!owned.insert(stream).second) {
        return base::invalid_argument("stream " + stream +
                                      " is owned by two bus peers: a stream has one producer");
      }
    }
  }
  for (const ClientGrant& grant : options.curve.clients) {
    if (!is_curve_key(grant.key))
      return base::invalid_argument("a bus client's key is not a CurveZMQ public key (Z85, 40 characters)");
  }
  return Status::ok();
}

const Peer* Bus::Impl::owner_of(std::string_view stream) const {
  for (const Peer& peer : options.peers) {
    if (contains(peer.streams, stream)) return &peer;
  }
  return nullptr;
}

const ClientGrant* Bus::Impl::grant_of(std::string_view key) const {
  for (const ClientGrant& grant : options.curve.clients) {
    if (grant.key == key) return &grant;
  }
  return nullptr;
}

bool Bus::Impl::may_read(const std::optional<std::string>& key, std::string_view stream) const {
  if (!key || *key == options.curve.public_key) return true;  // this process, or this host's own key
  const ClientGrant* grant = grant_of(*key);
  return grant != nullptr && contains(grant->reads, stream);
}

bool Bus::Impl::may_call(const std::optional<std::string>& key, std::string_view service) const {
  if (!key || *key == options.curve.public_key) return true;
  const ClientGrant* grant = grant_of(*key);
  return grant != nullptr && contains(grant->calls, service);
}

std::optional<std::string> client_key(const zmq::message_t& frame) {
  // The ZAP handler answers with the client's Z85 key as its User-Id, and
  // libzmq puts that on every frame from the connection. A connection
  // without Curve (inproc, ipc: this machine) has none.
  const char* user = zmq_msg_gets(frame.handle(), "User-Id");
  if (user == nullptr || *user == '\0') return std::nullopt;
  return std::string(user);
}

void Bus::Impl::drop(const std::string& source, std::string_view reason, const std::string& detail) {
  const auto now = std::chrono::steady_clock::now();
  bool log = false;
  std::uint64_t count = 0;
  {
    std::lock_guard lock(drops_mutex);
    DropState& state = drop_states[{source, std::string(reason)}];
    count = ++state.count;
    if (state.count == 1 || now - state.logged >= std::chrono::minutes(1)) {
      state.logged = now;
      log = true;
    }
  }
  if (log) {
    std::fprintf(stderr, "bus: dropped from %s (%.*s, %llu so far): %s\n", source.c_str(),
                 static_cast<int>(reason.size()), reason.data(), static_cast<unsigned long long>(count),
                 detail.c_str());
  }
}

void Bus::Impl::refuse(const std::string& detail) {
  ++refused;
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t unlogged = 0;
  {
    std::lock_guard lock(drops_mutex);
    if (now - refusal_minute >= std::chrono::minutes(1)) {
      refusal_minute = now;
      refusals_logged = 0;
    }
    if (refusals_logged == kRefusalLogsPerMinute) {
      ++refusals_unlogged;
      return;
    }
    ++refusals_logged;
    unlogged = std::exchange(refusals_unlogged, 0);
  }
  if (unlogged > 0) {
    std::fprintf(stderr, "bus: refused %s (and %llu more, not logged: at most %zu lines a minute)\n",
                 detail.c_str(), static_cast<unsigned long long>(unlogged), kRefusalLogsPerMinute);
  } else {
    std::fprintf(stderr, "bus: refused %s\n", detail.c_str());
  }
}

std::vector<Bus::Drop> Bus::drops() const {
  std::vector<Drop> out;
  std::lock_guard lock(impl_->drops_mutex);
  for (const auto& [key, state] : impl_->drop_states) out.push_back({key.first, key.second, state.count});
  return out;
}

}  // namespace ates::bus
