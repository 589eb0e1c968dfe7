/* MP_ASSERT: an invariant the code relies on (not a check of input: input errors are reported
 * through struct error). Active in every build; a failure names the file and line and aborts,
 * because carrying on past a broken invariant could write wrong bytes to a user's flash. */
#ifndef MP_UTIL_CHECK_H
#define MP_UTIL_CHECK_H

void mp_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#define MP_ASSERT(expr) ((expr) ? (void)0 : mp_assert_fail(#expr, __FILE__, __LINE__))

#endif
