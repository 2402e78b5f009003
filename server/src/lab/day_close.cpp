// `ates lab day-close-under-lag`: the day close (docs/accounting.md) under a
// lagging producer, on the fake business clock. The tracker's stream is held
// back (POST /api/v1/dev/hold: as if the tracker were cut off) just before
// midnight while tasks are still created and completed; after midnight the
// close of that day waits (409 waiting_for), and once the stream is released
// it closes with the held events in that day. Then a forced close while the
// stream is held again, and the late entry the held event becomes.
#include <set>
#include <thread>

#include "lab.hpp"
#include "lab_host.hpp"

namespace ates::lab {

namespace {

constexpr char kDay[] = "2026-03-03";  // the fake clock starts at 09:00 on it
constexpr char kNextDay[] = "2026-03-04";
constexpr char kThirdDay[] = "2026-03-05";

class Day {
 public:
  explicit Day(LabHost& lab) : lab_(lab), http_(lab.base()) {}

  nlohmann::json as(const std::string& who, const std::string& path, const nlohmann::json& body,
                    long expect_status) {
    return http_.post_expect(path, lab_.token(who), body.is_null() ? std::string() : body.dump(),
                             expect_status);
  }
  Answer post(const std::string& who, const std::string& path) { return http_.post(path, lab_.token(who)); }
  nlohmann::json get(const std::string& who, const std::string& path) {
    return http_.get_expect(path, lab_.token(who));
  }

  void advance(std::int64_t seconds, std::ostream& out) {
    const auto now = as("boss", "/api/v1/dev/clock", {{"advance_seconds", seconds}}, 200)["now"];
    out << "  clock: " << now.get<std::string>() << "\n";
  }
  void hold(bool held, std::ostream& out) {
    as("boss", "/api/v1/dev/hold", {{"stream", "tracker.tasks"}, {"held", held}}, 200);
    out << (held ? "  tracker.tasks held back: accounting hears no more of the tracker\n"
                 : "  tracker.tasks released\n");
  }
  nlohmann::json create(const std::string& title) {
    return as("mgr", "/api/v1/tracker/tasks", {{"title", title}}, 201)["task"];
  }
  void complete(const nlohmann::json& task) {
    const std::string who = lab_.name_of(task["assignee_id"]);
    as(who, "/api/v1/tracker/tasks/" + task["id"].get<std::string>() + "/complete", nullptr, 200);
  }
  nlohmann::json entries(const std::string& who, const std::string& date) {
    return get(who, "/api/v1/accounting/accounts/me/entries?limit=1000" +
                        (date.empty() ? "" : "&date=" + date))["entries"];
  }

 private:
  LabHost& lab_;
  HttpDriver http_;
};

void show_close(std::ostream& out, const std::string& label, const Answer& answer) {
  const auto body = answer.json();
  // A 409 repeats the day inside the problem; its waiting_for is the news.
  const auto& shown = answer.status == 409 && body.contains("waiting_for") ? body["waiting_for"]
                      : body.contains("day")                               ? body["day"]
                                                                           : body;
  out << "  " << label << " -> " << answer.status << " " << (answer.status == 409 ? "waiting_for " : "")
      << shown.dump() << "\n";
}

}  // namespace

int run_day_close_under_lag(std::ostream& out) {
  init_http();
  ScratchDir dir("ates-lab-day-close");
  LabHost lab(dir.path() / "data", {.environment = {{"ATES_ACCOUNTING_CLOSE_CHECK_MS", "50"}},
                                    .flags = {{"fake_clock", std::string(kDay) + "T09:00:00Z"}}});
  for (const auto& [name, role] : std::vector<std::pair<std::string, std::string>>{{"boss", "admin"},
                                                                                   {"mgr", "manager"},
                                                                                   {"acc", "accountant"},
                                                                                   {"wk1", "worker"},
                                                                                   {"wk2", "worker"}}) {
    lab.add_user(name, role);
  }
  lab.sync("auth.users", "tracker");
  lab.sync("auth.users", "accounting");
  Day d(lab);
  try {
    out << "1. A day that waits for a lagging tracker stream, then closes correctly\n";
    d.complete(d.create("early in the day"));
    d.advance(14 * 3600 + 59 * 60, out);  // 23:59
    lab.sync("tracker.tasks", "accounting");
    d.hold(true, out);
    std::set<std::string> held_fees;     // the held tasks, each owed a fee in the day
    std::set<std::string> held_rewards;  // the held task completed, owed a reward in the day
    for (int i = 0; i < 3; ++i) {
      const auto task = d.create("just before midnight " + std::to_string(i));
      held_fees.insert(task["id"].get<std::string>());
      if (i == 0) {
        d.complete(task);
        held_rewards.insert(task["id"].get<std::string>());
      }
    }
    out << "  3 tasks created and 1 completed at 23:59; their events stay in the tracker\n";
    d.advance(std::int64_t{15} * 60, out);  // 00:14 of the next day
    const Answer waiting = d.post("acc", std::string("/api/v1/accounting/days/") + kDay + "/close");
    show_close(out, std::string("POST /days/") + kDay + "/close", waiting);
    const auto body = waiting.json();
    expect(waiting.status == 409, "the close did not wait for the held stream");
    expect(body["waiting_for"].size() == 1 && body["waiting_for"][0]["stream"] == "tracker.tasks",
           "the close does not say it waits for tracker.tasks");
    // null: no heartbeat of the tracker reached accounting since the events
    // it applied; either way nothing says the day's events are all in.
    const auto& watermark = body["waiting_for"][0]["watermark"];
    expect(watermark.is_null() || watermark.get<std::string>() < kNextDay,
           "the tracker's watermark is already past the day");
    out << "  it waits: the last watermark accounting holds of tracker.tasks is "
        << (watermark.is_null() ? std::string("none") : watermark.get<std::string>())
        << ", not past the end of " << kDay << "\n";
    d.hold(false, out);
    const auto next = d.create("the next day");
    d.complete(next);
    // The close goes through once a heartbeat past midnight has arrived
    // and everything up to its head is applied: retry while it waits.
    Answer closed;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    do {
      closed = d.post("acc", std::string("/api/v1/accounting/days/") + kDay + "/close");
      if (closed.status != 409) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    show_close(out, std::string("POST /days/") + kDay + "/close", closed);
    expect(closed.status == 200 && closed.json()["day"]["status"] == "closed",
           "the day did not close once released");
    std::int64_t paid = 0;
    std::size_t in_day = 0, next_day = 0;
    for (const std::string who : {"acc", "wk1", "wk2"}) {
      for (const auto& e : d.entries(who, kDay)) {
        if (e["kind"] == "payout") paid -= e["amount_cents"].get<std::int64_t>();
        if (e["task"].is_null()) continue;
        const std::string task_id = e["task"]["id"];
        if (e["kind"] == "fee" && held_fees.erase(task_id) > 0) ++in_day;
        if (e["kind"] == "reward") held_rewards.erase(task_id);
      }
      for (const auto& e : d.entries(who, kNextDay)) {
        expect(e["task"].is_null() || e["task"]["id"] == next["id"],
               "an entry of the held day landed in the next");
        ++next_day;
      }
    }
    expect(held_fees.empty(), "a held task's fee was not counted in the day");
    expect(held_rewards.empty(), "the held completion's reward was not counted in the day");
    expect(closed.json()["day"]["paid_cents"] == paid, "the payouts of the close differ from its entries");
    out << "  the held tasks' fees and the reward count in " << kDay << " (" << in_day
        << " tasks), the next day's " << next_day << " entries stay in " << kNextDay << "; paid " << paid
        << " cents in payouts\n";
    const Answer again = d.post("acc", std::string("/api/v1/accounting/days/") + kDay + "/close");
    expect(again.status == 200 && again.json()["day"] == closed.json()["day"],
           "closing again answered otherwise");
    out << "  closing it again answers the same day and pays nothing twice\n";

    out << "\n2. A forced close, and the late entry it makes\n";
    d.advance(22 * 3600 + 46 * 60, out);  // 23:00 of the next day
    lab.sync("tracker.tasks", "accounting");
    d.hold(true, out);
    const auto lost = d.create("lost in the partition");
    const std::string who = lab.name_of(lost["assignee_id"]);
    out << "  task created at 23:00, assigned to " << who << "; its events stay in the tracker\n";
    d.advance(3600 + 60, out);  // 00:01 of the third day
    const Answer waits = d.post("boss", std::string("/api/v1/accounting/days/") + kNextDay + "/close");
    show_close(out, std::string("POST /days/") + kNextDay + "/close", waits);
    expect(waits.status == 409, "the close did not wait");
    const Answer forced =
        d.post("boss", std::string("/api/v1/accounting/days/") + kNextDay + "/close?force=true");
    show_close(out, std::string("POST /days/") + kNextDay + "/close?force=true", forced);
    expect(forced.status == 200 && forced.json()["day"]["forced"] == true, "the forced close did not close");
    d.hold(false, out);
    lab.sync("tracker.tasks", "accounting");
    nlohmann::json late;
    for (const auto& e : d.entries(who, "")) {
      if (!e["task"].is_null() && e["task"]["id"] == lost["id"]) late = e;
    }
    out << "  the held fee arrived after the close: " << late.dump() << "\n";
    expect(late.is_object() && late["date"] == kThirdDay && late["original_date"] == kNextDay,
           "the late event is not a late entry of the first open day with its original date");
    out << "  it counts on " << kThirdDay << ", the first open day, and keeps original_date " << kNextDay
        << "\n";
  } catch (const Failed& failed) {
    out << "\nFAIL: " << failed.what() << "\n";
    return 1;
  }
  out << "\nday-close-under-lag: the day waited for its events, closed with them, and a forced close made a "
         "late "
         "entry\n";
  return 0;
}

}  // namespace ates::lab
