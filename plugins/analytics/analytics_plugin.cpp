// The analytics plugin: entry point, routes, the rebuild thread.
#include "analytics_plugin.hpp"

#include "ates/base/failpoint.hpp"
#include "ates/days/day_zone.hpp"
#include "ates/protocol/events.hpp"
#include "ates/protocol/schema.hpp"
#include "ates/protocol/time.hpp"

#include "earnings_audit.hpp"

namespace ates::analytics {

using base::Code;
using base::Status;
using plugin_api::Access;
using plugin_api::Contract;
using plugin_api::Method;
using plugin_api::Parameter;
using plugin_api::Request;
using plugin_api::Responder;
using plugin_api::Response;
using plugin_api::Role;
using plugin_api::Schema;

namespace {

const plugin_api::ConfigKeySpec kConfigKeys[] = {
    {"rebuild_batch", "int", "5000", "stored events applied per transaction of a rebuild"},
};

// ---- the schemas of what the routes answer (their contracts) ----

// AnalyticsPlugin::summary's answer.
Schema summary_schema() {
  return Schema::object(
      {{"date", Schema::day()},
       {"day_zone", Schema::string().min_length(1).describe(
                        "the zone accounting counts its days in, from its DayZoneSet event; UTC "
                        "until that event has arrived")},
       {"management_earnings_cents", Schema::cents().describe("fees minus rewards")},
       {"fees_cents", Schema::cents()},
       {"rewards_cents", Schema::cents()},
       {"negative_balance_users", Schema::integer().minimum(0)},
       {"negative_balance_users_at",
        Schema::one_of({"close", "now"})
            .describe("close: the count at the day's close; now: the count now")}});
}

// AnalyticsPlugin::expensive's answer.
Schema expensive_task_schema() {
  const Schema task =
      Schema::object({{"id", Schema::uuid()},
                      {"title", Schema::string().nullable().describe("null until the task is known")},
                      {"jira_id", Schema::string().nullable()},
                      {"reward_cents", Schema::cents()},
                      {"completed_at", Schema::time()}});
  return Schema::object({{"from_date", Schema::day()},
                         {"end_date", Schema::day()},
                         {"task", task.nullable().describe("null when no task was completed in the range")}});
}

}  // namespace

AnalyticsPlugin::AnalyticsPlugin(plugin_api::HostContext& host)
    : host_(host),
      analytics_(host.storage()),
      rebuild_batch_(
          static_cast<std::size_t>(std::max<std::int64_t>(1, host.config().get_int("rebuild_batch")))) {
  if (host.mode() == plugin_api::RunMode::kServe) idempotency_.emplace(host.storage());
  host.add_command("audit", [this](const nlohmann::json&) { return audit(host_); });
  for (const auto stream : {protocol::kUsersStream, protocol::kTasksStream, protocol::kTransactionsStream}) {
    host.subscribe(std::string(stream), [this](storage::WriteTxn& txn, const protocol::Envelope& event) {
      return analytics_.receive(txn, event);
    });
  }
}

Status AnalyticsPlugin::start() {
  add_routes();
  {
    std::lock_guard lock(mutex_);
    rebuild_wanted_ = analytics_.rebuilding();  // a rebuild cut short by a crash starts again
  }
  rebuilder_ = std::thread([this] { rebuild_loop(); });
  return Status::ok();
}

void AnalyticsPlugin::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (rebuilder_.joinable()) rebuilder_.join();
}

void AnalyticsPlugin::add_routes() {
  const Access admins = Access::only({Role::kAdmin});
  host_.add_route({Method::kGet, "/summary", admins,
                   [this](Request r, Responder respond) { summary(r, respond); },
                   "a day's management earnings and users with a negative balance",
                   Contract{.parameters = {Parameter::query("date", Schema::day(),
                                                            "by default today in accounting's day zone")},
                            .answers = {{200, "the day's figures", summary_schema()}}}});
  host_.add_route(
      {Method::kGet, "/expensive-task", admins,
       [this](Request r, Responder respond) { expensive(r, respond); },
       "the completed task with the highest reward over a range of days",
       Contract{
           .parameters = {Parameter::required_query("from_date", Schema::day(), "the first day"),
                          Parameter::query("end_date", Schema::day(),
                                           "the last day, counted; by default `from_date`; at most 366 days "
                                           "in all")},
           .answers = {{200, "the task, or null", expensive_task_schema()}}}});
  host_.add_route({Method::kPost, "/rebuild", admins,
                   [this](Request r, Responder respond) { rebuild(r, respond); },
                   "rebuild the read models from the event store",
                   Contract{.answers = {{202, "the rebuild started; the old models answer until it is done",
                                         Schema::object({{"rebuild", Schema::one_of({"started"})},
                                                         {"stored_events", Schema::integer().minimum(0)}})},
                                        {409, "the Idempotency-Key came with another request"}},
                            .idempotent = true}});
}

// Today is a day of accounting's, so the dashboard's "today" is the
// ledger's open day even where accounting's zone is far from UTC.
std::pair<std::string, std::string> AnalyticsPlugin::today() const {
  const std::int64_t now = host_.business_clock().now_us();
  if (auto name = analytics_.day_zone()) {
    if (auto zone = days::DayZone::locate(*name)) return {zone->day_of(now), *name};
  }
  return {protocol::format_utc(now).substr(0, 10), "UTC"};
}

void AnalyticsPlugin::summary(const Request& request, const Responder& respond) const {
  const auto [today_date, zone] = today();
  const auto day = plugin_api::parse_day_query(request, "date", protocol::CalendarDay::parse(today_date));
  if (!day) return respond(Response::from_status(day.status()));
  const Summary s = analytics_.summary(day->to_string());
  respond(Response::json(200, {{"date", s.date},
                               {"day_zone", zone},
                               {"management_earnings_cents", s.management_earnings_cents},
                               {"fees_cents", s.fees_cents},
                               {"rewards_cents", s.rewards_cents},
                               {"negative_balance_users", s.negative_balance_users},
                               {"negative_balance_users_at", s.at_close ? "close" : "now"}}));
}

void AnalyticsPlugin::expensive(const Request& request, const Responder& respond) const {
  const auto range = plugin_api::parse_day_range(request, "from_date", "end_date", std::nullopt);
  if (!range) return respond(Response::from_status(range.status()));
  const std::string from = range->from.to_string();
  const std::string end = range->to.to_string();
  const auto found = analytics_.expensive(from, end);
  nlohmann::json task = nullptr;
  if (found) {
    task = {{"id", found->best.task_id},
            {"title", found->title ? nlohmann::json(found->title->title) : nlohmann::json(nullptr)},
            {"jira_id", found->title && !found->title->jira_id.empty() ? nlohmann::json(found->title->jira_id)
                                                                       : nlohmann::json(nullptr)},
            {"reward_cents", found->best.reward_cents},
            {"completed_at", protocol::format_utc(found->best.completed_at)}};
  }
  respond(Response::json(200, {{"from_date", from}, {"end_date", end}, {"task", task}}));
}

void AnalyticsPlugin::rebuild(const Request& request, const Responder& respond) {
  // A rebuild asked again with its Idempotency-Key is answered as the
  // first time and starts nothing more. (Without a key a second request
  // rebuilds again, which changes nothing either: the models are a
  // function of the stored events.)
  const std::uint64_t stored = analytics_.stored_events();
  idempotency_->run(host_.storage(), request, respond,
                    [this, stored](storage::WriteTxn&) -> base::Result<Response> {
                      {
                        std::lock_guard lock(mutex_);
                        if (stopping_) return Status(Code::kUnavailable, "analytics is stopping");
                        rebuild_wanted_ = true;
                      }
                      cv_.notify_all();
                      return Response::json(202, {{"rebuild", "started"}, {"stored_events", stored}});
                    });
}

void AnalyticsPlugin::rebuild_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    cv_.wait(lock, [&] { return stopping_ || rebuild_wanted_; });
    if (stopping_) break;
    rebuild_wanted_ = false;
    lock.unlock();
    host_.log().info("rebuilding the read models from " + std::to_string(analytics_.stored_events()) +
                     " events");
    Status status =
        host_.storage().run([&](storage::WriteTxn& txn) { return analytics_.start_rebuild(txn); });
    // Batch by batch, so live events keep flowing in between; the last
    // batch swaps the new models in.
    for (bool done = false; status && !done;) {
      {
        std::lock_guard check(mutex_);
        if (stopping_) return;  // the next start resumes it
      }
      auto step = host_.storage().run_for<bool>(
          [&](storage::WriteTxn& txn) { return analytics_.rebuild_step(txn, rebuild_batch_); });
      if (!step) {
        status = step.status();
        break;
      }
      done = *step;
      if (!done) base::failpoint("analytics.rebuild_between_batches");
    }
    if (status) {
      host_.metrics().add("analytics_rebuilds");
      host_.log().info("rebuilt the read models; live set " + analytics_.live());
    } else {
      host_.log().error("rebuild failed: " + status.message());
    }
    lock.lock();
  }
}

}  // namespace ates::analytics

ATES_DEFINE_PLUGIN("analytics", ates::analytics::AnalyticsPlugin, ates::analytics::kConfigKeys, 1)
