/* OpenSSL 3's EVP interface (and the SHA256() one-shot built on it) loads its provider
 * machinery on first use, about 2 ms: more than everything else the tool does to show a
 * table. The low-level functions run the same code without that set-up; they are deprecated
 * in OpenSSL 3 but kept, so their deprecation warnings are silenced for this file only. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "util/digest.h"

#include <openssl/md5.h>
#include <openssl/sha.h>

void digest_md5(const void *data, size_t len, uint8_t out[16])
{
    MD5_CTX ctx;
    MD5_Init(&ctx);
    MD5_Update(&ctx, data, len);
    MD5_Final(out, &ctx);
}

void digest_sha256(const void *data, size_t len, uint8_t out[32])
{
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, data, len);
    SHA256_Final(out, &ctx);
}
