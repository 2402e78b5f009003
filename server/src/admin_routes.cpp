#include "admin_routes.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <memory>

#include "ates/protocol/registry.hpp"
#include "ates/protocol/time.hpp"

namespace ates::server {

using base::Status;
using plugin_api::Method;
using plugin_api::Request;
using plugin_api::Responder;
using plugin_api::Response;

namespace {

// The plugin whose consumer a dead letter belongs to: its id is
// "<consumer>-<number>".
std::string consumer_of(std::string_view dead_letter_id) {
  return std::string(dead_letter_id.substr(0, dead_letter_id.rfind('-')));
}

}  // namespace

nlohmann::json dead_letter_json(const bus::DeadLetter& letter) {
  return {{"id", letter.id},
          {"stream", letter.stream},
          {"seq", letter.seq},
          {"consumer", letter.consumer},
          {"reason", letter.reason},
          {"time", protocol::format_utc(letter.time_us)},
          {"resolved", letter.resolved}};
}

nlohmann::json EventsAdmin::streams() const {
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
  for (const auto& head : bus_.local_streams()) {
    auto& stream = entry(head.stream);
    stream["head_seq"] = head.head_seq;
    stream["watermark"] = protocol::format_utc(head.watermark);
    stream["epoch"] = head.epoch;
  }
  for (const auto& consumer : bus_.consumers()) {
    auto& stream = entry(consumer.stream);
    if (stream["head_seq"].is_null()) stream["head_seq"] = consumer.head_seq;  // as last heard
    nlohmann::json item = {{"plugin", consumer.consumer},
                           {"applied_seq", consumer.applied_seq},
                           {"lag", consumer.lag()},
                           {"state", std::string(bus::to_string(consumer.state))}};
    if (!consumer.error.empty()) item["error"] = consumer.error;
    if (!consumer.suspect.empty()) item["suspect"] = consumer.suspect;
    stream["consumers"].push_back(std::move(item));
  }
  nlohmann::json list = nlohmann::json::array();
  for (auto& [name, stream] : streams) list.push_back(std::move(stream));
  return {{"streams", std::move(list)}};
}

nlohmann::json EventsAdmin::dead_letters() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [consumer, env] : environments_()) {
    for (const auto& letter : bus::dead_letters(*env, consumer)) list.push_back(dead_letter_json(letter));
  }
  return {{"dead_letters", std::move(list)}};
}

base::Result<nlohmann::json> EventsAdmin::dead_letters(const plugin_api::Page& page) const {
  std::string after_consumer;
  std::uint64_t after_number = 0;
  if (page.after) {
    const std::string& cursor = *page.after;
    const auto dash = cursor.rfind('-');
    const auto number =
        dash == std::string::npos ? std::string_view() : std::string_view(cursor).substr(dash + 1);
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), after_number);
    if (dash == 0 || dash == std::string::npos || number.empty() || error != std::errc() ||
        end != number.data() + number.size() ||
        number.find_first_not_of("0123456789") != std::string_view::npos) {
      return base::invalid_argument("after: the id of a dead letter, <consumer>-<number>");
    }
    after_consumer = cursor.substr(0, dash);
  }
  ConsumerEnvironments environments = environments_();
  std::sort(environments.begin(), environments.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // One more than the page, to know whether another follows.
  std::vector<bus::DeadLetter> letters;
  for (const auto& [consumer, env] : environments) {
    if (letters.size() > page.limit) break;
    if (page.after && consumer < after_consumer) continue;
    const std::uint64_t after = page.after && consumer == after_consumer ? after_number : 0;
    for (auto& letter : bus::dead_letters(*env, consumer, after, page.limit + 1 - letters.size())) {
      letters.push_back(std::move(letter));
    }
  }
  return plugin_api::page_of<bus::DeadLetter>(
      std::move(letters), page, [](const bus::DeadLetter& letter) { return letter.id; }, "dead_letters",
      dead_letter_json);
}

base::Result<bus::DeadLetter> EventsAdmin::redrive(std::string_view id) {
  InflightWork::Scope running(inflight_, consumer_of(id));
  return bus_.redrive(id);
}

namespace {

using plugin_api::Contract;
using plugin_api::Parameter;
using plugin_api::Schema;

Schema dead_letter_schema() {
  return Schema::object({{"id", Schema::string().describe("<consumer>-<number>")},
                         {"stream", Schema::string()},
                         {"seq", Schema::integer().minimum(0).describe("0: a frame too broken to have one")},
                         {"consumer", Schema::string()},
                         {"reason", Schema::string()},
                         {"time", Schema::time()},
                         {"resolved", Schema::boolean()}})
      .titled("DeadLetter");
}

Schema stream_schema() {
  const Schema consumer = Schema::object(
      {{"plugin", Schema::string()},
       {"applied_seq", Schema::integer().minimum(0)},
       {"lag", Schema::integer().minimum(0)},
       {"state", Schema::one_of({"none", "starting", "running", "stalled", "halted"})}},
      {{"error", Schema::string()}, {"suspect", Schema::string().describe("why the live feed is in doubt")}});
  return Schema::object(
             {{"name", Schema::string()},
              {"producer", Schema::string()},
              {"head_seq", Schema::integer().minimum(0).nullable()},
              {"watermark", Schema::time().nullable()},
              {"consumers", Schema::array(consumer)}},
             {{"epoch", Schema::string().describe("the producer's epoch, for a stream produced here")}})
      .titled("Stream");
}

}  // namespace

void add_events_routes(RouteTable& routes, EventsAdmin& admin, HostStore store) {
  const auto admin_only = plugin_api::Access::only({plugin_api::Role::kAdmin});
  routes.add("host", "/api/v1/events/streams",
             {Method::kGet, "", admin_only,
              [&admin](Request, Responder respond) { respond(Response::json(200, admin.streams())); },
              "streams with head, watermark and each consumer's applied sequence, lag and state",
              Contract{.answers = {{200, "every stream this host produces or consumes",
                                    Schema::object({{"streams", Schema::array(stream_schema())}})}}}});
  routes.add("host", "/api/v1/events/dead-letters",
             {Method::kGet, "", admin_only,
              [&admin](Request request, Responder respond) {
                const auto page = plugin_api::parse_page(request);
                if (!page) return respond(Response::from_status(page.status()));
                const auto letters = admin.dead_letters(*page);
                if (!letters) return respond(Response::from_status(letters.status()));
                respond(Response::json(200, *letters));
              },
              "dead letters of every consumer, by consumer and number",
              Contract{.parameters = plugin_api::page_parameters(),
                       .answers = {{200, "a page of dead letters",
                                    Schema::object({{"dead_letters", Schema::array(dead_letter_schema())},
                                                    {"next", Schema::string().nullable()}})}}}});
  routes.add(
      "host", "/api/v1/events/dead-letters/{id}/redrive",
      {Method::kPost, "", admin_only,
       [&admin, store](Request request, Responder respond) {
         // A re-drive writes in the consumer's environment, which
         // may be the host's own: the answer is remembered after it,
         // in a unit of its own, not around it. A crash in between
         // leaves the retry a 409 (resolved already), never a second
         // application.
         {
           const storage::ReadTxn txn = store.env.read();
           if (auto remembered = store.idempotency.remembered(txn, request)) {
             if (!*remembered) return respond(Response::from_status(remembered->status()));
             return respond(std::move(*remembered).value());
           }
         }
         const auto redriven = admin.redrive(request.path_params["id"]);
         if (!redriven) return respond(Response::from_status(redriven.status()));
         auto answer =
             std::make_shared<Response>(Response::json(200, {{"dead_letter", dead_letter_json(*redriven)}}));
         store.env.submit(
             [store, request, answer](storage::WriteTxn& txn) {
               store.idempotency.remember(txn, request, *answer);
               return Status::ok();
             },
             [answer, respond](const Status&) { respond(std::move(*answer)); });
       },
       "apply a dead letter again, once",
       Contract{.parameters = {Parameter::path("id", Schema::string().min_length(3).max_length(200))},
                .answers = {{200, "applied; the letter is resolved",
                             Schema::object({{"dead_letter", dead_letter_schema()}})},
                            {404, "no such dead letter"},
                            {409, "resolved already, or the Idempotency-Key came with another request"}},
                .idempotent = true}});
}

void add_dev_routes(RouteTable& routes, base::ManualClock& clock, bus::Bus& bus, HostStore store) {
  const auto admin_only = plugin_api::Access::only({plugin_api::Role::kAdmin});
  routes.add(
      "host", "/api/v1/dev/clock",
      {Method::kPost, "", admin_only,
       [&clock, store](Request request, Responder respond) {
         // In a unit of the host's environment, so that a retry with the
         // same Idempotency-Key is answered and the clock moves once.
         store.idempotency.run(
             store.env, request, std::move(respond),
             [&clock, body_text = request.body](storage::WriteTxn&) -> base::Result<Response> {
               auto body = plugin_api::parse_json_object(body_text);
               if (!body) return body.status();
               // Whole seconds, and never past the last second the calendar
               // of ates holds: no overflow, no year 10000.
               const auto advance = body->find("advance_seconds");
               const std::int64_t room_s = (kLatestBusinessTimeUs - clock.now_us()) / 1'000'000;
               if (advance == body->end() || !advance->is_number_integer() ||
                   (advance->is_number_unsigned() &&
                    advance->get<std::uint64_t>() > static_cast<std::uint64_t>(room_s)) ||
                   advance->get<std::int64_t>() < 0 || advance->get<std::int64_t>() > room_s) {
                 return base::invalid_argument("advance_seconds: an integer from 0 to " +
                                               std::to_string(std::max<std::int64_t>(0, room_s)) +
                                               " (the clock stops at " +
                                               protocol::format_utc(kLatestBusinessTimeUs) + ")");
               }
               clock.advance(advance->get<std::int64_t>() * 1'000'000);
               return Response::json(200, {{"now", protocol::format_utc(clock.now_us())}});
             });
       },
       "advance the fake business clock (only with --fake-clock)",
       Contract{.body = Schema::object({{"advance_seconds", Schema::integer().minimum(0)}}),
                .answers = {{200, "the business clock's new time", Schema::object({{"now", Schema::time()}})},
                            {409, "the Idempotency-Key came with another request"}},
                .idempotent = true}});
  routes.add(
      "host", "/api/v1/dev/hold",
      {Method::kPost, "", admin_only,
       [&bus, store](Request request, Responder respond) {
         store.idempotency.run(
             store.env, request, std::move(respond),
             [&bus, body_text = request.body](storage::WriteTxn&) -> base::Result<Response> {
               auto body = plugin_api::parse_json_object(body_text);
               if (!body) return body.status();
               const auto stream = body->find("stream");
               const auto held = body->find("held");
               if (stream == body->end() || !stream->is_string())
                 return base::invalid_argument("stream: required, a string");
               if (held == body->end() || !held->is_boolean())
                 return base::invalid_argument("held: required, true or false");
               const Status status = bus.hold(stream->get<std::string>(), held->get<bool>());
               if (!status) return status;
               return Response::json(200, {{"stream", *stream}, {"held", *held}});
             });
       },
       "hold a local stream back as a partition would (only with --fake-clock)",
       Contract{.body = Schema::object({{"stream", Schema::string()}, {"held", Schema::boolean()}}),
                .answers = {{200, "the stream's hold",
                             Schema::object({{"stream", Schema::string()}, {"held", Schema::boolean()}})},
                            {404, "no such local stream"},
                            {409, "the Idempotency-Key came with another request"}},
                .idempotent = true}});
}

}  // namespace ates::server
