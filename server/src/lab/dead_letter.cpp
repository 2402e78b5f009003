// `ates lab dead-letter`: what happens to an event a consumer's domain
// refuses (docs/bus.md, "Dead letters and stalls").
//
// The shipped plugins refuse no well-formed event (they make placeholders
// for what they have not heard of yet, and every event is validated by its
// producer), so this lab brings its own consumer: a payroll that, unlike
// accounting, demands that an account exists before it charges anyone. It
// runs on the real bus and storage (a producer environment publishing
// tracker.tasks, a consumer environment with its inbox and dead-letter
// table, ZeroMQ over ipc) as a plugin would: an assignment to a worker the
// payroll does not know is refused with not_found, becomes a dead letter
// and the stream goes on; re-driving it before the cause is fixed changes
// nothing; after the account is opened, one re-drive applies it, and a
// second is refused.
#include <thread>

#include "ates/bus/bus.hpp"
#include "ates/protocol/dispatch.hpp"
#include "ates/protocol/events.hpp"
#include "ates/protocol/uuid.hpp"

#include "lab.hpp"
#include "lab_host.hpp"

namespace ates::lab {

namespace {

using base::Code;
using base::Status;

template <class T>
T value_or_throw(base::Result<T> result, const std::string& what) {
  if (!result) throw std::runtime_error(what + ": " + result.status().to_string());
  return std::move(result).value();
}

void ok_or_throw(const Status& status, const std::string& what) {
  if (!status) throw std::runtime_error(what + ": " + status.to_string());
}

// The payroll: accounts opened by an operator, and the fees it charged per
// account (a count is enough to see "applied once").
class Payroll {
 public:
  explicit Payroll(storage::Environment& env)
      : env_(env), accounts_(env.raw_table("accounts")), fees_(env.raw_table("fees")) {}

  Status apply(storage::WriteTxn& txn, const protocol::Envelope& event) const {
    return protocol::dispatch(event, [&](const protocol::TaskAssigned& assigned) -> Status {
      if (!accounts_.get(txn, assigned.assignee_id)) {
        return Status(Code::kNotFound, "no payroll account for " + assigned.assignee_id +
                                           ": open it, then re-drive this event");
      }
      const auto count = fees_.get(txn, assigned.assignee_id);
      fees_.put(txn, assigned.assignee_id, std::to_string((count ? std::stoll(std::string(*count)) : 0) + 1));
      return Status::ok();
    });
  }
  void open_account(const std::string& user) {
    ok_or_throw(env_.run([&](storage::WriteTxn& txn) {
      accounts_.put(txn, user, "open");
      return Status::ok();
    }),
                "opening an account");
  }
  std::int64_t fees_of(const std::string& user) const {
    storage::ReadTxn txn = env_.read();
    const auto count = fees_.get(txn, user);
    return count ? std::stoll(std::string(*count)) : 0;
  }

 private:
  storage::Environment& env_;
  storage::RawTable accounts_;
  storage::RawTable fees_;
};

std::string letter_line(const bus::DeadLetter& letter) {
  return nlohmann::json{{"id", letter.id},   {"consumer", letter.consumer}, {"stream", letter.stream},
                        {"seq", letter.seq}, {"reason", letter.reason},     {"resolved", letter.resolved}}
      .dump();
}

}  // namespace

int run_dead_letter(std::ostream& out) {
  ScratchDir dir("ates-lab-dead-letter");
  auto tracker =
      value_or_throw(storage::Environment::open({.dir = dir.path() / "tracker", .producer = "tracker"}),
                     "opening the tracker's environment");
  ok_or_throw(tracker->declare_stream(protocol::kTasksStream), "declaring tracker.tasks");
  auto payroll_env =
      value_or_throw(storage::Environment::open({.dir = dir.path() / "payroll", .producer = "payroll"}),
                     "opening the payroll's environment");
  Payroll payroll(*payroll_env);
  auto bus = value_or_throw(bus::Bus::start({.publish = "ipc://" + (dir.path() / "pub").string(),
                                             .replay = "ipc://" + (dir.path() / "replay").string(),
                                             .heartbeat = std::chrono::milliseconds(50)}),
                            "starting the bus");
  bus->add_producer(*tracker);
  ok_or_throw(bus->add_consumer({"payroll", std::string(protocol::kTasksStream), payroll_env.get(),
                                 [&payroll](storage::WriteTxn& txn, const protocol::Envelope& event) {
                                   return payroll.apply(txn, event);
                                 }}),
              "starting the payroll's consumer");

  base::SeededRandom random(7);
  const std::string ann = protocol::make_uuid(random), bob = protocol::make_uuid(random);
  const std::string manager = protocol::make_uuid(random);
  std::uint64_t head = 0;
  const auto assign = [&](const std::string& who) {
    const std::string task = protocol::make_uuid(random);
    ok_or_throw(tracker->run([&](storage::WriteTxn& txn) {
      auto created = txn.publish(
          protocol::TaskCreated{.task_id = task, .title = "a task for the payroll", .created_by = manager});
      if (!created) return created.status();
      auto assigned =
          txn.publish(protocol::TaskAssigned{.task_id = task, .assignee_id = who, .reason = "created"});
      if (!assigned) return assigned.status();
      head = assigned->seq;
      return Status::ok();
    }),
                "publishing");
  };
  const auto applied_all = [&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      for (const auto& c : bus->consumers()) {
        if (c.consumer == "payroll" && c.applied_seq >= head) return;
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw Failed("the payroll did not apply tracker.tasks");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };

  try {
    out << "1. The poisoned event\n";
    payroll.open_account(ann);
    out << "  the payroll has an account for ann (" << ann << ") only\n";
    assign(ann);
    assign(bob);
    const std::uint64_t poisoned_seq = head;
    assign(ann);
    applied_all();
    out << "  tracker.tasks: ann, bob, ann assigned (head " << head << "); the payroll applied up to " << head
        << ": the stream went on past bob's assignment\n";
    auto letters = bus::dead_letters(*payroll_env, "payroll");
    expect(letters.size() == 1 && letters[0].seq == poisoned_seq && !letters[0].resolved,
           "bob's assignment is not the one unresolved dead letter");
    out << "  fees charged: ann " << payroll.fees_of(ann) << ", bob " << payroll.fees_of(bob) << "\n";
    expect(payroll.fees_of(ann) == 2 && payroll.fees_of(bob) == 0, "the fees charged are not ann's two");

    out << "\n2. Inspected (what GET /api/v1/events/dead-letters and `ates dead-letters list` show)\n";
    out << "  " << letter_line(letters[0]) << "\n";
    const std::string id = letters[0].id;

    out << "\n3. Re-driven\n";
    const auto too_soon = bus->redrive(id);
    out << "  before the cause is fixed: " << (too_soon ? "applied" : too_soon.status().to_string()) << "\n";
    expect(!too_soon && !bus::dead_letters(*payroll_env, "payroll")[0].resolved,
           "a re-drive of a still-refused event changed the letter");
    payroll.open_account(bob);
    out << "  the operator opens bob's account\n";
    const auto redriven = bus->redrive(id);
    expect(redriven.has_value(), "the re-drive after the fix failed: " + redriven.status().to_string());
    out << "  after the fix: " << letter_line(*redriven) << "\n";
    expect(redriven->resolved && payroll.fees_of(bob) == 1, "bob's fee was not charged once");
    out << "  fees charged: ann " << payroll.fees_of(ann) << ", bob " << payroll.fees_of(bob) << "\n";
    const auto twice = bus->redrive(id);
    out << "  again: " << twice.status().to_string() << "\n";
    out << "  fees charged: ann " << payroll.fees_of(ann) << ", bob " << payroll.fees_of(bob) << "\n";
    expect(!twice && twice.status().code() == Code::kConflict && payroll.fees_of(bob) == 1,
           "a second re-drive was not refused");
  } catch (const Failed& failed) {
    out << "\nFAIL: " << failed.what() << "\n";
    return 1;
  }
  bus.reset();
  out << "\ndead-letter: the poisoned event was dead-lettered while the stream went on, inspected, and "
         "re-driven once "
         "after its cause was fixed\n";
  return 0;
}

}  // namespace ates::lab
