/* Unit tests for daemon/fdbudget: the API's share of the descriptor limit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/resource.h>

#include "daemon/fdbudget.h"

static void test_default_is_capped_at_1024(void **state)
{
    (void)state;
    struct fd_budget b = fd_budget_compute(1048576, 10, 0);
    assert_int_equal(b.reserved, FDBUDGET_BASE + 10 * FDBUDGET_PER_BACKEND);
    assert_int_equal(b.max_conns, FDBUDGET_DEFAULT_MAX);
    assert_false(b.clamped);
}

static void test_small_limit_leaves_the_reserve(void **state)
{
    (void)state;
    /* 1024 descriptors, 100 backends: 1024 - (64 + 200) = 760 left, 380 conns */
    struct fd_budget b = fd_budget_compute(1024, 100, 0);
    assert_int_equal(b.reserved, 264);
    assert_int_equal(b.fits, 380);
    assert_int_equal(b.max_conns, 380);
    assert_false(b.clamped);
    /* what the API may take plus the reserve never passes the limit */
    assert_true(b.reserved + (uint64_t)b.max_conns * FDBUDGET_PER_CONN <= b.nofile);
}

static void test_request_over_the_budget_is_clamped(void **state)
{
    (void)state;
    struct fd_budget b = fd_budget_compute(1024, 100, 5000);
    assert_true(b.clamped);
    assert_int_equal(b.max_conns, 380);
    b = fd_budget_compute(65536, 100, 5000);
    assert_false(b.clamped);
    assert_int_equal(b.max_conns, 5000);
}

static void test_no_room_still_one(void **state)
{
    (void)state;
    struct fd_budget b = fd_budget_compute(50, 1000, 0);
    assert_int_equal(b.max_conns, 1);
    assert_int_equal(b.fits, 1);
}

static void test_raise_reaches_the_hard_limit(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max > 64 && rl.rlim_max != RLIM_INFINITY) {
        struct rlimit low = { .rlim_cur = 64, .rlim_max = rl.rlim_max };
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    }
    uint64_t before = 0, after = 0;
    assert_int_equal(fd_limit_raise(&before, &after), 0);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(after, rl.rlim_cur);
    if (rl.rlim_max != RLIM_INFINITY) {
        assert_int_equal(rl.rlim_cur, rl.rlim_max);
        assert_true(before <= after);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_capped_at_1024),
        cmocka_unit_test(test_small_limit_leaves_the_reserve),
        cmocka_unit_test(test_request_over_the_budget_is_clamped),
        cmocka_unit_test(test_no_room_still_one),
        cmocka_unit_test(test_raise_reaches_the_hard_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
