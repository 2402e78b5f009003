// The one main() of every Boost.Test executable in ates.
#define BOOST_TEST_MODULE ates
#include <boost/test/unit_test.hpp>
