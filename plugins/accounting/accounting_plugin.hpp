// The accounting plugin: accounts from auth.users, prices, a ledger charged
// from tracker.tasks, earnings per day, day close with payouts and receipts;
// everything it books is published on accounting.transactions.
//
// Threads: the bus applies events on the environment's writer; HTTP reads
// run on the host's threads; one closer thread runs every day close (the
// route's and the schedule's), so closes never race each other; one mailer
// thread sends receipts.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "ates/plugin_api/idempotency.hpp"
#include "ates/plugin_api/plugin.hpp"

#include "ledger.hpp"
#include "mailer.hpp"

namespace ates::accounting {

class AccountingPlugin final : public plugin_api::Plugin {
 public:
  explicit AccountingPlugin(plugin_api::HostContext& host);
  base::Status start() override;
  void stop() override;

 private:
  void add_routes();
  void account(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void entries(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void accounts(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void earnings(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void days(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void close(const plugin_api::Request& request, plugin_api::Responder respond);

  // Day close, on the closer thread.
  struct CloseJob {
    std::string date;
    bool force = false;
    plugin_api::Responder respond;
  };
  void closer_loop();
  plugin_api::Response close_through(const std::string& date, bool force);
  void close_due_days();
  // rpc mode's last steps, once tracker.tasks is complete far enough: held
  // charges past their deadline are dropped, committed charges whose
  // event never came are reversed.
  void settle_charges();
  // What closing `date` waits for now (empty: nothing); see
  // docs/accounting.md, "Days and the close".
  nlohmann::json waiting_for(const std::string& date, std::int64_t waiting_since) const;
  nlohmann::json day_json(const std::string& date, const std::optional<DayRecord>& record) const;
  std::string today() const;

  // Receipts, on the mailer thread.
  void mailer_loop();
  void send_receipt(const Receipt& receipt);

  plugin_api::HostContext& host_;
  Ledger ledger_;
  // The close route's answers for Idempotency-Key; serving only (read-only,
  // data from before it had no tables for it).
  std::optional<plugin_api::Idempotency> idempotency_;
  MailSettings mail_;
  std::string mail_from_;
  std::chrono::milliseconds mail_retry_;
  bool auto_close_;
  std::int64_t close_delay_us_;
  std::chrono::milliseconds close_check_;

  std::mutex mutex_;  // guards jobs_, stopping_, mail_pending_
  std::condition_variable closer_cv_;
  std::condition_variable mailer_cv_;
  std::deque<CloseJob> jobs_;
  bool mail_pending_ = false;
  bool stopping_ = false;
  std::thread closer_;
  std::thread mailer_;
};

}  // namespace ates::accounting
