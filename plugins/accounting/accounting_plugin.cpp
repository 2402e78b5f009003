// The accounting plugin: entry point, start and stop, routes, day close,
// receipts.
#include "accounting_plugin.hpp"

#include <sodium.h>

#include "ates/base/failpoint.hpp"
#include "ates/protocol/events.hpp"
#include "ates/protocol/time.hpp"

#include "ledger_audit.hpp"

namespace ates::accounting {

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
    {"day_zone", "string", "UTC", "the IANA time zone days are counted in; fixed at the first start"},
    {"price_key", "string", "",
     "64 hex digits keying task prices; empty: a random key made at the first start (set only in tests)"},
    {"auto_close", "bool", "true", "close each day shortly after its midnight"},
    {"close_delay_s", "int", "300", "how long after midnight the scheduled close starts trying, in seconds"},
    {"close_check_ms", "int", "1000", "how often the schedule looks at the business clock, in milliseconds"},
    {"smtp_url", "string", "",
     "send receipts over SMTP (e.g. smtp://mail:25); empty: .eml files in <data>/mail"},
    {"mail_from", "string", "accounting@ates.local", "the From address of receipts"},
    {"mail_retry_ms", "int", "1000",
     "first retry of a failed receipt, in milliseconds; doubles up to 10 minutes"},
};

constexpr std::int64_t kMaxRetryUs = std::int64_t{10} * 60 * 1'000'000;

std::int64_t real_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<Prices::Key> parse_key(const std::string& text) {
  if (text.empty()) return std::nullopt;
  Prices::Key key{};
  std::size_t length = 0;
  if (text.size() != 2 * key.size() ||
      sodium_hex2bin(key.data(), key.size(), text.c_str(), text.size(), nullptr, &length, nullptr) != 0 ||
      length != key.size()) {
    throw std::runtime_error("bad value for 'accounting.price_key': expected 64 hex digits");
  }
  return key;
}

bool may_see_all(const plugin_api::Principal& principal) {
  return principal.role == Role::kAccountant || principal.role == Role::kAdmin;
}

std::string dollars(std::int64_t cents) {
  const std::int64_t magnitude = cents < 0 ? -cents : cents;
  char text[48];
  std::snprintf(text, sizeof text, "%s$%lld.%02lld", cents < 0 ? "-" : "",
                static_cast<long long>(magnitude / 100), static_cast<long long>(magnitude % 100));
  return text;
}

std::string describe(const EntryView& view) {
  const std::string title =
      view.task && !view.task->title.empty()
          ? (view.task->jira_id.empty() ? "" : "[" + view.task->jira_id + "] ") + view.task->title
          : "task " + view.entry.task_id;
  if (view.entry.kind == "fee") return "fee for the assigned task " + title;
  if (view.entry.kind == "reward") return "reward for the completed task " + title;
  if (view.entry.kind == "fee_reversal")
    return "fee for " + title + " reversed: the assignment never happened";
  if (view.entry.kind == "reward_reversal")
    return "reward for " + title + " reversed: the completion never happened";
  return "payout for " + view.entry.date;
}

nlohmann::json entry_json(const EntryView& view) {
  nlohmann::json task = nullptr;
  if (!view.entry.task_id.empty()) {
    task = {{"id", view.entry.task_id},
            {"title", view.task ? nlohmann::json(view.task->title) : nlohmann::json(nullptr)},
            {"jira_id", view.task && !view.task->jira_id.empty() ? nlohmann::json(view.task->jira_id)
                                                                 : nlohmann::json(nullptr)}};
  }
  nlohmann::json out = {{"id", view.entry.id},
                        {"occurred_at", protocol::format_utc(view.entry.occurred_at)},
                        {"date", view.entry.date},
                        {"kind", view.entry.kind},
                        {"amount_cents", view.entry.amount_cents},
                        {"task", task},
                        {"description", describe(view)}};
  if (!view.entry.original_date.empty()) out["original_date"] = view.entry.original_date;
  return out;
}

nlohmann::json account_json(const std::string& user_id, const Account& account) {
  return {{"user_id", user_id},
          {"username", account.known ? nlohmann::json(account.username) : nlohmann::json(nullptr)},
          {"balance_cents", account.balance_cents}};
}

// ---- the schemas of what the routes answer (their contracts) ----

// entry_json's shape.
Schema entry_schema() {
  const Schema task =
      Schema::object({{"id", Schema::uuid()},
                      {"title", Schema::string().nullable().describe("null until the task is known")},
                      {"jira_id", Schema::string().nullable()}});
  return Schema::object(
             {{"id", Schema::uuid()},
              {"occurred_at", Schema::time().describe("the time of the event that caused it")},
              {"date", Schema::day().describe("the day the entry counts in")},
              {"kind", Schema::one_of({"fee", "reward", "payout", "fee_reversal", "reward_reversal"})},
              {"amount_cents", Schema::cents()},
              {"task", task.nullable().describe("null for a payout")},
              {"description", Schema::string()}},
             {{"original_date", Schema::day().describe("a late entry only: the closed day it happened on")}})
      .titled("Entry");
}

// account_json's shape.
Schema account_schema() {
  return Schema::object(
             {{"user_id", Schema::uuid()},
              {"username", Schema::string().nullable().describe("null for a user known only from a task")},
              {"balance_cents", Schema::cents()}})
      .titled("Account");
}

// One item of AccountingPlugin::waiting_for: what closing a day waits for.
Schema waiting_schema() {
  return Schema::object({{"stream", Schema::string()},
                         {"watermark", Schema::time().nullable().describe(
                                           "the stream's watermark; null before any event")},
                         {"waiting_since", Schema::time()},
                         {"reason", Schema::string()}},
                        {{"unconfirmed_charges", Schema::integer().minimum(1)},
                         {"pending_charges", Schema::integer().minimum(1)},
                         {"dead_letters",
                          Schema::array(Schema::string()).describe("ids of the dead letters it waits for")}})
      .titled("DayWait");
}

// AccountingPlugin::day_json's shape: closed_at and forced only on a closed day.
Schema day_schema() {
  return Schema::object({{"date", Schema::day()},
                         {"status", Schema::one_of({"open", "waiting", "closed"})},
                         {"payouts", Schema::integer().minimum(0)},
                         {"paid_cents", Schema::cents().minimum(0)},
                         {"waiting_for", Schema::array(waiting_schema())}},
                        {{"closed_at", Schema::time()}, {"forced", Schema::boolean()}})
      .titled("Day");
}

// A close's 409: problem+json; when the close must wait, also the first day
// still open and what it waits for (close_through).
Schema close_conflict_schema() {
  return Schema::object({{"type", Schema::string()},
                         {"title", Schema::string()},
                         {"status", Schema::integer()},
                         {"detail", Schema::string()}},
                        {{"day", day_schema()}, {"waiting_for", Schema::array(waiting_schema())}});
}

// A page of a list: `field` holds the items, `next` the cursor of the next page.
Schema page_schema(const std::string& field, const Schema& item, const Schema& cursor) {
  return Schema::object({{field, Schema::array(item)}, {"next", cursor.nullable()}});
}

}  // namespace

AccountingPlugin::AccountingPlugin(plugin_api::HostContext& host)
    : host_(host),
      ledger_(host.storage()),
      mail_{host.config().get_string("smtp_url"), host.storage().options().dir.parent_path() / "mail"},
      mail_from_(host.config().get_string("mail_from")),
      mail_retry_(std::max<std::int64_t>(1, host.config().get_int("mail_retry_ms"))),
      auto_close_(host.config().get_bool("auto_close")),
      close_delay_us_(std::max<std::int64_t>(0, host.config().get_int("close_delay_s")) * 1'000'000),
      close_check_(std::max<std::int64_t>(1, host.config().get_int("close_check_ms"))) {
  if (host.mode() == plugin_api::RunMode::kServe) idempotency_.emplace(host.storage());
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (Status s = host.storage().declare_stream(protocol::kTransactionsStream); !s)
    throw std::runtime_error(s.to_string());
  // Read-only (`ates audit` with no server): nothing is charged or
  // closed, so the zone and prices, which the first start writes, are not
  // needed; only the audit runs.
  host.add_command("audit", [this](const nlohmann::json&) { return audit(host_); });
  if (host.mode() == plugin_api::RunMode::kReadOnly) return;
  const auto key = parse_key(host.config().get_string("price_key"));
  const std::string zone = host.config().get_string("day_zone");
  auto settings = host.storage().run_for<Ledger::Settings>(
      [&](storage::WriteTxn& txn) { return ledger_.initialise(txn, zone, key); });
  if (!settings) throw std::runtime_error(settings.status().message());
  ledger_.configure(*DayZone::locate(settings->zone), Prices(settings->key));
  host.subscribe(std::string(protocol::kUsersStream),
                 [this](storage::WriteTxn& txn, const protocol::Envelope& event) {
                   return ledger_.apply_user_event(txn, event);
                 });
  host.subscribe(std::string(protocol::kTasksStream),
                 [this](storage::WriteTxn& txn, const protocol::Envelope& event) {
                   return ledger_.apply_task_event(txn, event);
                 });
}

Status AccountingPlugin::start() {
  // The two-phase charge's accounting side (rpc mode, docs/accounting.md). Served
  // in both modes: accounting does not know how the tracker is linked.
  host_.serve(
      std::string(protocol::kPrepareService), [this](std::string_view bytes) -> base::Result<std::string> {
        auto request = protocol::unpack_message<protocol::PrepareCharges>(bytes);
        if (!request) return request.status();
        Status held =
            host_.storage().run([&](storage::WriteTxn& txn) { return ledger_.prepare(txn, *request); });
        if (!held) return held;
        base::failpoint("accounting.rpc_after_prepare");
        return std::string("prepared");
      });
  host_.serve(
      std::string(protocol::kDecideService), [this](std::string_view bytes) -> base::Result<std::string> {
        auto decision = protocol::unpack_message<protocol::ChargeDecision>(bytes);
        if (!decision) return decision.status();
        Status decided =
            host_.storage().run([&](storage::WriteTxn& txn) { return ledger_.decide(txn, *decision); });
        if (!decided) return decided;
        return std::string("decided");
      });
  add_routes();
  closer_ = std::thread([this] { closer_loop(); });
  mailer_ = std::thread([this] { mailer_loop(); });
  return Status::ok();
}

void AccountingPlugin::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  closer_cv_.notify_all();
  mailer_cv_.notify_all();
  if (closer_.joinable()) closer_.join();
  if (mailer_.joinable()) mailer_.join();
}

void AccountingPlugin::add_routes() {
  const Access accountants = Access::only({Role::kAccountant, Role::kAdmin});
  const Parameter account_id = Parameter::path("id", Schema::string().min_length(1), "a user id, or `me`");
  host_.add_route(
      {Method::kGet, "/accounts/{id}", Access::any_role(),
       [this](Request r, Responder respond) { account(r, respond); },
       "one account's balance ({id} may be `me`): its owner, accountants, admins",
       Contract{.parameters = {account_id},
                .answers = {{200, "the account (the caller's own is there, empty, before any entry)",
                             Schema::object({{"account", account_schema()}})},
                            {403, "another's account, and the caller is no accountant or admin"},
                            {404, "no account of that id"}}}});
  std::vector<Parameter> entries_parameters = plugin_api::page_parameters();
  entries_parameters.insert(entries_parameters.begin(), account_id);
  entries_parameters.push_back(
      Parameter::query("date", Schema::day(), "only the entries that count in this day"));
  host_.add_route(
      {Method::kGet, "/accounts/{id}/entries", Access::any_role(),
       [this](Request r, Responder respond) { entries(r, respond); },
       "one account's audit log, optionally of one day",
       Contract{.parameters = entries_parameters,
                .answers = {{200, "a page of entries, in the order written (none for an unknown id)",
                             page_schema("entries", entry_schema(), Schema::uuid())},
                            {403, "another's account, and the caller is no accountant or admin"}}}});
  host_.add_route({Method::kGet, "/accounts", accountants,
                   [this](Request r, Responder respond) { accounts(r, respond); }, "every account",
                   Contract{.parameters = plugin_api::page_parameters(),
                            .answers = {{200, "a page of accounts, by user id",
                                         page_schema("accounts", account_schema(), Schema::uuid())}}}});
  const Schema day_earnings =
      Schema::object({{"date", Schema::day()},
                      {"earnings_cents", Schema::cents().describe("fees minus rewards")},
                      {"fees_cents", Schema::cents()},
                      {"rewards_cents", Schema::cents()}});
  host_.add_route(
      {Method::kGet, "/earnings", accountants, [this](Request r, Responder respond) { earnings(r, respond); },
       "management earnings per day: fees charged minus rewards paid",
       Contract{.parameters = {Parameter::query("from", Schema::day(), "the first day; by default today"),
                               Parameter::query(
                                   "to", Schema::day(),
                                   "the last day, counted; by default `from`; at most 366 days in all")},
                .answers = {{200, "one item per day of the range, in order",
                             Schema::object({{"days", Schema::array(day_earnings)}})}}}});
  host_.add_route(
      {Method::kGet, "/days", accountants, [this](Request r, Responder respond) { days(r, respond); },
       "days, newest first: open, waiting or closed",
       Contract{
           .parameters = {plugin_api::page_parameters().front(),
                          Parameter::query("after", Schema::day(),
                                           "the `next` of the previous page: the list goes on with the day "
                                           "before it")},
           .answers = {{200, "a page of days, from today back to the first with entries",
                        page_schema("days", day_schema(), Schema::day())}}}});
  host_.add_route(
      {Method::kPost, "/days/{date}/close", accountants,
       [this](Request r, Responder respond) { close(r, std::move(respond)); },
       "close a day: pay positive balances and send receipts (?force=true: admins)",
       Contract{
           .parameters = {Parameter::path("date", Schema::day(),
                                          "the day to close, with every open day before it"),
                          Parameter::query("force", Schema::boolean(),
                                           "admins only: close without waiting for events that may still "
                                           "add entries")},
           .answers = {{200, "the day, closed (closing it again answers the same and pays nothing twice)",
                        Schema::object({{"day", day_schema()}})},
                       {403, "the role may not close days, or force=true from someone not an admin"},
                       {409,
                        "the day is not over, is before the first day, or must wait: then `day` is the first "
                        "day still open and `waiting_for` says what it waits for",
                        close_conflict_schema(), "application/problem+json"}},
           .idempotent = true}});
}

// [SECTION] reads ------------------------------------------------------------------

namespace {

// The account a request names, if the caller may see it.
base::Result<std::string> owner_of(const Request& request) {
  std::string id = request.path_params.at("id");
  if (id == "me") id = request.principal->user_id;
  if (id != request.principal->user_id && !may_see_all(*request.principal)) {
    return Status(Code::kPermissionDenied, "only its owner, accountants and admins see an account");
  }
  return id;
}

}  // namespace

void AccountingPlugin::account(const Request& request, const Responder& respond) const {
  auto id = owner_of(request);
  if (!id) return respond(Response::from_status(id.status()));
  const auto found = ledger_.account(*id);
  if (!found) {
    // The caller's own account before accounting has heard of them: empty.
    if (*id == request.principal->user_id)
      return respond(Response::json(200, {{"account", account_json(*id, Account{})}}));
    return respond(Response::problem(404, "not-found", "no account " + *id));
  }
  respond(Response::json(200, {{"account", account_json(*id, *found)}}));
}

void AccountingPlugin::entries(const Request& request, const Responder& respond) const {
  auto id = owner_of(request);
  if (!id) return respond(Response::from_status(id.status()));
  auto page = plugin_api::parse_page(request);
  if (!page) return respond(Response::from_status(page.status()));
  std::optional<std::string> date;
  if (request.query_value("date")) {
    auto day = plugin_api::parse_day_query(request, "date", std::nullopt);
    if (!day) return respond(Response::from_status(day.status()));
    date = day->to_string();
  }
  respond(Response::json(200, plugin_api::page_of<EntryView>(
                                  ledger_.entries(*id, date, page->after, page->limit), *page,
                                  [](const EntryView& v) { return v.entry.id; }, "entries", entry_json)));
}

void AccountingPlugin::accounts(const Request& request, const Responder& respond) const {
  auto page = plugin_api::parse_page(request);
  if (!page) return respond(Response::from_status(page.status()));
  using Item = std::pair<std::string, Account>;
  respond(Response::json(
      200, plugin_api::page_of<Item>(
               ledger_.accounts(page->after, page->limit), *page, [](const Item& item) { return item.first; },
               "accounts", [](const Item& item) { return account_json(item.first, item.second); })));
}

void AccountingPlugin::earnings(const Request& request, const Responder& respond) const {
  // Without from, today; without to, from: one day.
  const auto range =
      plugin_api::parse_day_range(request, "from", "to", protocol::CalendarDay::parse(today()));
  if (!range) return respond(Response::from_status(range.status()));
  nlohmann::json days = nlohmann::json::array();
  for (const auto& day : ledger_.earnings(range->from, range->to)) {
    days.push_back({{"date", day.date},
                    {"earnings_cents", day.totals.fees_cents - day.totals.rewards_cents},
                    {"fees_cents", day.totals.fees_cents},
                    {"rewards_cents", day.totals.rewards_cents}});
  }
  respond(Response::json(200, {{"days", days}}));
}

std::string AccountingPlugin::today() const { return ledger_.zone().day_of(host_.business_clock().now_us()); }

nlohmann::json AccountingPlugin::day_json(const std::string& date,
                                          const std::optional<DayRecord>& record) const {
  nlohmann::json out = {{"date", date},
                        {"status", "open"},
                        {"payouts", 0},
                        {"paid_cents", 0},
                        {"waiting_for", nlohmann::json::array()}};
  if (!record) return out;
  out["status"] = storage::name_of(record->status);
  if (record->status == DayStatus::kClosed) {
    out["payouts"] = record->payouts;
    out["paid_cents"] = record->paid_cents;
    out["closed_at"] = protocol::format_utc(record->closed_at);
    out["forced"] = record->forced;
  } else {
    out["waiting_for"] = waiting_for(date, record->waiting_since);
  }
  return out;
}

void AccountingPlugin::days(const Request& request, const Responder& respond) const {
  auto page = plugin_api::parse_page(request);
  if (!page) return respond(Response::from_status(page.status()));
  std::optional<protocol::CalendarDay> day;
  if (page->after) {
    const auto after = protocol::CalendarDay::parse(*page->after);
    if (!after) return respond(Response::problem(400, "validation", "after: a date YYYY-MM-DD"));
    day = after->plus(-1);
  } else {
    day = protocol::CalendarDay::parse(today());
  }
  // Newest first, down to the first day with entries (today alone when
  // there is none yet); at most a page, so a client's cursor bounds nothing.
  const auto first = protocol::CalendarDay::parse(ledger_.first_day());
  nlohmann::json list = nlohmann::json::array();
  nlohmann::json next = nullptr;
  for (; day && (!first || *day >= *first); day = day->plus(-1)) {
    if (list.size() == page->limit) {
      next = list.back()["date"];
      break;
    }
    const std::string date = day->to_string();
    list.push_back(day_json(date, ledger_.day(date)));
    if (!first) break;
  }
  respond(Response::json(200, {{"days", list}, {"next", next}}));
}

// [SECTION] day close ----------------------------------------------------------------

void AccountingPlugin::close(const Request& request, Responder respond) {
  const auto day = protocol::CalendarDay::parse(request.path_params.at("date"));
  if (!day)
    return respond(
        Response::problem(400, "validation", "date: a date YYYY-MM-DD from 1970-01-01 to 9999-12-31"));
  const std::string date = day->to_string();
  const auto force = request.query_value("force");
  if (force && *force != "true" && *force != "false")
    return respond(Response::problem(400, "validation", "force: true or false"));
  const bool forced = force && *force == "true";
  if (forced && request.principal->role != Role::kAdmin) {
    return respond(Response::problem(403, "forbidden", "only admins may force a close"));
  }
  // A retry with the first close's Idempotency-Key gets its answer again.
  // (Closing a closed day again answers the same day anyway; the key makes
  // the answer the very first one, replayed, whatever came since.) The
  // answer is remembered after the close, in a unit of its own: a crash in
  // between leaves the retry a second close, which pays nothing twice.
  {
    const storage::ReadTxn txn = host_.storage().read();
    if (auto remembered = idempotency_->remembered(txn, request)) {
      if (!*remembered) return respond(Response::from_status(remembered->status()));
      return respond(std::move(*remembered).value());
    }
  }
  Responder remember_then_respond = [this, request, respond = std::move(respond)](Response answer) {
    if (answer.status >= 400 || !request.header("idempotency-key")) return respond(std::move(answer));
    auto kept = std::make_shared<Response>(std::move(answer));
    host_.storage().submit(
        [this, request, kept](storage::WriteTxn& txn) {
          idempotency_->remember(txn, request, *kept);
          return Status::ok();
        },
        [kept, respond](const Status&) { respond(std::move(*kept)); });
  };
  {
    std::lock_guard lock(mutex_);
    if (stopping_)
      return remember_then_respond(
          Response::from_status(Status(Code::kUnavailable, "accounting is stopping")));
    jobs_.push_back({date, forced, std::move(remember_then_respond)});
  }
  closer_cv_.notify_all();
}

void AccountingPlugin::closer_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (jobs_.empty()) {
      closer_cv_.wait_for(lock, close_check_, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) break;
      if (jobs_.empty()) {
        lock.unlock();
        settle_charges();
        close_due_days();
        lock.lock();
        continue;
      }
    }
    CloseJob job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Response response = close_through(job.date, job.force);
    job.respond(std::move(response));
    lock.lock();
  }
  // Whoever still waits is told to come back.
  for (auto& job : jobs_) {
    job.respond(Response::from_status(Status(Code::kUnavailable, "accounting is stopping")));
  }
  jobs_.clear();
}

nlohmann::json AccountingPlugin::waiting_for(const std::string& date, std::int64_t waiting_since) const {
  const std::string stream(protocol::kTasksStream);
  const std::int64_t end = ledger_.zone().end_of(date);
  nlohmann::json list = nlohmann::json::array();
  const auto progress = host_.stream_progress(stream);
  const nlohmann::json watermark = progress.watermark > 0
                                       ? nlohmann::json(protocol::format_utc(progress.watermark))
                                       : nlohmann::json(nullptr);
  const nlohmann::json since = protocol::format_utc(waiting_since);
  if (!host_.stream_complete_up_to(stream, end)) {
    list.push_back({{"stream", stream},
                    {"watermark", watermark},
                    {"waiting_since", since},
                    {"reason", "events before " + protocol::format_utc(end) + " may still arrive (applied " +
                                   std::to_string(progress.applied_seq) + " of " +
                                   std::to_string(progress.head_seq) + ", consumer " +
                                   (progress.state == plugin_api::ConsumerState::kNone
                                        ? std::string("not started")
                                        : std::string(plugin_api::to_string(progress.state))) +
                                   ")"}});
  }
  // A dead letter of this stream dated <= the day could still add entries
  // to it once re-driven. A frame without a sequence number is not one of
  // the stream's events and cannot; one whose time is unreadable might.
  nlohmann::json letters = nlohmann::json::array();
  const auto open = host_.open_dead_letters(stream);
  if (!open) {
    // Not knowing is not "none": the day waits.
    list.push_back({{"stream", stream},
                    {"watermark", watermark},
                    {"waiting_since", since},
                    {"reason", "the dead letters could not be read: " + open.status().message()}});
  } else {
    for (const auto& letter : *open) {
      if (letter.seq != 0 && (letter.event_time_us == 0 || letter.event_time_us < end))
        letters.push_back(letter.id);
    }
  }
  // rpc mode: a charge held for the tracker dated <= the day may still
  // become one of its entries.
  std::size_t held = 0;
  for (const auto& [event_id, charge] : ledger_.pending()) held += charge.prepared_at < end;
  // A committed charge of the day whose event has not come may still be
  // reversed on it.
  std::size_t unconfirmed = 0;
  for (const auto& [event_id, charge] : ledger_.unconfirmed()) unconfirmed += charge.time_us < end;
  if (unconfirmed > 0) {
    list.push_back(
        {{"stream", stream},
         {"watermark", watermark},
         {"waiting_since", since},
         {"reason", std::to_string(unconfirmed) +
                        " charges committed over rpc whose tracker.tasks events have not come yet"},
         {"unconfirmed_charges", unconfirmed}});
  }
  if (held > 0) {
    list.push_back({{"stream", stream},
                    {"watermark", watermark},
                    {"waiting_since", since},
                    {"reason", std::to_string(held) + " charges held for the tracker's two-phase changes"},
                    {"pending_charges", held}});
  }
  if (!letters.empty()) {
    list.push_back(
        {{"stream", stream},
         {"watermark", watermark},
         {"waiting_since", since},
         {"reason", std::to_string(letters.size()) + " unresolved dead letters dated on or before " + date},
         {"dead_letters", letters}});
  }
  return list;
}

Response AccountingPlugin::close_through(const std::string& date, bool force) {
  const std::string today = this->today();
  if (date >= today) {
    return Response::problem(
        409, "day-not-over",
        date + " is not over yet (today is " + today + " in " + ledger_.zone().name() + ")");
  }
  const std::string first = ledger_.first_day();
  if (date < first) {
    return Response::problem(409, "before-first-day",
                             "accounting keeps days from " + first + "; " + date + " has nothing to close");
  }
  // Days close in order: every open day up to `date`, each waiting on
  // what can still add entries to it; settled charges wait no more.
  settle_charges();
  for (;;) {
    const auto closed = ledger_.last_closed();
    if (closed && *closed >= date) break;
    const std::string day = closed ? DayZone::next_day(*closed) : first;
    if (!force && !waiting_for(day, 0).empty()) {
      auto record = host_.storage().run_for<DayRecord>(
          [&](storage::WriteTxn& txn) { return ledger_.mark_waiting(txn, day); });
      if (!record) return Response::from_status(record.status());
      host_.metrics().set("accounting_day_close_waiting_seconds",
                          static_cast<double>(host_.business_clock().now_us() - record->waiting_since) / 1e6);
      const auto waiting = waiting_for(day, record->waiting_since);
      nlohmann::json body = {
          {"type", "about:blank#waiting"},
          {"title", "Conflict"},
          {"status", 409},
          {"detail", "closing " + day + " waits for events that may still add entries to it"},
          {"day", day_json(day, *record)},
          {"waiting_for", waiting}};
      return Response{409, "application/problem+json", body.dump(), {}};
    }
    auto record = host_.storage().run_for<DayRecord>(
        [&](storage::WriteTxn& txn) { return ledger_.close_day(txn, day, force); });
    if (!record) return Response::from_status(record.status());
    host_.metrics().set("accounting_day_close_waiting_seconds", 0);
    host_.metrics().add("accounting_days_closed");
    host_.log().info("closed " + day + (force ? " (forced)" : "") + ": " + std::to_string(record->payouts) +
                     " payouts, " + dollars(record->paid_cents));
    {
      std::lock_guard lock(mutex_);
      mail_pending_ = true;
    }
    mailer_cv_.notify_all();
  }
  return Response::json(200, {{"day", day_json(date, ledger_.day(date))}});
}

void AccountingPlugin::settle_charges() {
  // The charge's last step (docs/accounting.md): a held charge whose event has not come once
  // tracker.tasks is complete past its deadline never will (a lost ABORT,
  // or a tracker that crashed before deciding and has not restarted).
  std::size_t held = 0;
  for (const auto& [event_id, charge] : ledger_.pending()) {
    if (!host_.stream_complete_up_to(protocol::kTasksStream, charge.deadline_us)) {
      ++held;
      continue;
    }
    Status dropped = host_.storage().run(
        [&, id = event_id](storage::WriteTxn& txn) { return ledger_.drop_pending(txn, id); });
    if (dropped)
      host_.log().info("dropped charge " + event_id + " of " + charge.op_id + ": past its deadline");
  }
  host_.metrics().set("accounting_pending_charges", static_cast<double>(held));
  // A committed charge's event carries the COMMIT's time: once tracker.tasks
  // is complete past it without the event, the tracker never published it
  // (or a host that may call accounting.decide committed a charge the
  // tracker never made). Reversed before its day can close.
  std::size_t unconfirmed = 0;
  for (const auto& [event_id, charge] : ledger_.unconfirmed()) {
    if (!host_.stream_complete_up_to(protocol::kTasksStream, charge.time_us + 1)) {
      ++unconfirmed;
      continue;
    }
    Status reversed = host_.storage().run(
        [&, id = event_id](storage::WriteTxn& txn) { return ledger_.reverse_unconfirmed(txn, id); });
    if (reversed) {
      host_.log().warn("reversed " + charge.kind + " " + charge.entry_id +
                       ": committed over rpc, and tracker.tasks "
                       "went past its time without event " +
                       event_id);
      host_.metrics().add("accounting_charges_reversed");
    } else {
      ++unconfirmed;
      host_.log().error("could not reverse charge " + event_id + ": " + reversed.to_string());
    }
  }
  host_.metrics().set("accounting_unconfirmed_charges", static_cast<double>(unconfirmed));
}

void AccountingPlugin::close_due_days() {
  if (!auto_close_) return;
  const std::int64_t now = host_.business_clock().now_us();
  const auto closed = ledger_.last_closed();
  const std::string day = closed ? DayZone::next_day(*closed) : ledger_.first_day();
  if (now < ledger_.zone().end_of(day) + close_delay_us_) return;
  // Closes every due day it can; a wait is kept and tried again next time.
  std::string last_due = DayZone::previous_day(today());
  while (last_due > day && now < ledger_.zone().end_of(last_due) + close_delay_us_)
    last_due = DayZone::previous_day(last_due);
  const Response response = close_through(last_due, false);
  if (response.status != 200 && response.status != 409) {
    host_.log().warn("scheduled close of " + last_due + " failed: " + response.body);
  }
}

// [SECTION] receipts ---------------------------------------------------------------

void AccountingPlugin::mailer_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    for (const Receipt& receipt : ledger_.due_receipts(real_now_us(), 100)) {
      {
        std::lock_guard check(mutex_);
        if (stopping_) return;
      }
      send_receipt(receipt);
    }
    // Sleep until the next retry is due, a close queues more, or a second
    // passes (a receipt that waited for an email may have been queued).
    auto wait = std::chrono::milliseconds(1000);
    if (const auto next = ledger_.next_receipt_due()) {
      const auto until = std::chrono::milliseconds(std::max<std::int64_t>(0, (*next - real_now_us()) / 1000));
      wait = std::min(wait, until);
    }
    lock.lock();
    mailer_cv_.wait_for(lock, wait, [&] { return stopping_ || mail_pending_; });
    mail_pending_ = false;
  }
}

void AccountingPlugin::send_receipt(const Receipt& receipt) {
  const auto account = ledger_.account(receipt.user_id);
  if (!account || account->email.empty()) {
    // The email was removed after the receipt was queued: it waits for the
    // next one, like a receipt that never had one.
    const Status parked = host_.storage().run(
        [&](storage::WriteTxn& txn) { return ledger_.receipt_needs_email(txn, receipt.payout_id); });
    if (!parked) host_.log().error("receipt " + receipt.payout_id + ": " + parked.message());
    return;
  }
  std::string body = "Hello " + account->username + ",\n\n";
  body += "UberPopug Inc paid you " + dollars(receipt.amount_cents) + " for " + receipt.date + ".\n\n";
  body += "The entries of that day:\n";
  for (const auto& view : ledger_.entries(receipt.user_id, receipt.date, std::nullopt, 100'000)) {
    body += "  " + protocol::format_utc(view.entry.occurred_at) + "  " + dollars(view.entry.amount_cents) +
            "  " + describe(view) + "\n";
  }
  body += "\nPayout id: " + receipt.payout_id + "\n";
  const MailMessage message{
      .message_id = receipt.payout_id + "@ates",
      .from = mail_from_,
      .to = account->email,
      .subject = "Your payout for " + receipt.date + ": " + dollars(receipt.amount_cents),
      .body = body,
      .date_us = real_now_us()};
  const Status delivered = deliver(mail_, message);
  Status recorded;
  if (delivered) {
    recorded = host_.storage().run(
        [&](storage::WriteTxn& txn) { return ledger_.receipt_sent(txn, receipt.payout_id, real_now_us()); });
    host_.metrics().add("accounting_receipts_sent");
  } else {
    const std::int64_t backoff = std::min<std::int64_t>(
        kMaxRetryUs, std::chrono::duration_cast<std::chrono::microseconds>(mail_retry_).count()
                         << std::min<std::uint32_t>(receipt.attempts, 20));
    host_.log().warn("receipt " + receipt.payout_id + " not sent (attempt " +
                     std::to_string(receipt.attempts + 1) + "): " + delivered.message());
    host_.metrics().add("accounting_receipt_failures");
    recorded = host_.storage().run([&](storage::WriteTxn& txn) {
      return ledger_.receipt_failed(txn, receipt.payout_id, delivered.message(), real_now_us() + backoff);
    });
  }
  if (!recorded) host_.log().error("receipt " + receipt.payout_id + ": " + recorded.message());
}

}  // namespace ates::accounting

ATES_DEFINE_PLUGIN("accounting", ates::accounting::AccountingPlugin, ates::accounting::kConfigKeys, 8)
