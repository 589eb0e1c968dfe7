/* MD5 and SHA-256 (OpenSSL libcrypto), one-shot. */
#ifndef MP_UTIL_DIGEST_H
#define MP_UTIL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

void digest_md5(const void *data, size_t len, uint8_t out[16]);
void digest_sha256(const void *data, size_t len, uint8_t out[32]);

#endif
