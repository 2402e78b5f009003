// `ates bench bus`: durable events/s from append (a producer's committed
// unit) to applied (committed by a consumer in another environment), over
// inproc and over tcp loopback with CurveZMQ; the latency of that path at
// 1 000 events/s; and, in the same run, the ceilings: raw ZeroMQ PUB/SUB
// messages/s at the same size and the LMDB group-commit rate, with ratios.
#pragma once

#include <ostream>
#include <string>

namespace ates::bench {

struct BusBenchOptions {
  bool full = false;
  std::string dir;
};

void run_bus_bench(const BusBenchOptions& options, std::ostream& out);

}  // namespace ates::bench
